package testbed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/node"
)

// Two reads of an unchanged node are equal, whatever kube-proxy's partial syncs reorder and
// however the counters move; a rule more is not.
func TestNodeStateIgnoresOrderAndCountersOnly(t *testing.T) {
	rules := []string{"*nat\n[1:2] -A KUBE-SERVICES -d 10.96.0.1/32 -j A\n[3:4] -A KUBE-SERVICES -d 10.96.0.2/32 -j B\nCOMMIT\n",
		"*nat\n[9:9] -A KUBE-SERVICES -d 10.96.0.2/32 -j B\n[7:7] -A KUBE-SERVICES -d 10.96.0.1/32 -j A\nCOMMIT\n",
		"*nat\n[9:9] -A KUBE-SERVICES -d 10.96.0.2/32 -j B\n[7:7] -A KUBE-SERVICES -d 10.96.0.1/32 -j A\n-A INPUT -j ACCEPT\nCOMMIT\n"}
	var states []string
	for _, r := range rules {
		n := node.NewFake("w1").Reply("iptables-legacy-save", "").Reply("iptables-nft-save", r).
			Reply("nft list ruleset", "table ip t {\n\tchain c {\n\t\tcounter packets 5 bytes 300 drop\n\t}\n}").
			Reply("sysctl", "1\n1\n2").Reply("sh -c", "abc  -")
		s, err := nodeState(t.Context(), []node.Node{n})
		require.NoError(t, err)
		states = append(states, s["w1"])
	}
	assert.Equal(t, states[0], states[1])
	assert.NotEqual(t, states[1], states[2], "a rule more is a change")
}

// Calico removing a deleted pod's chains (both views) is not a change a check made; a rule more
// in one of Calico's shared chains is.
func TestNodeStateLeavesOutSinglePodsChains(t *testing.T) {
	const pod = "calib64c7c66d04"
	withPod := "*filter\n:cali-tw-" + pod + " - [0:0]\n-A cali-to-wl-dispatch -o " + pod + " -j cali-tw-" + pod +
		"\n-A cali-tw-" + pod + " -j cali-pri-kns.default\n-A cali-FORWARD -j cali-to-wl-dispatch\nCOMMIT\n"
	nftWithPod := "table ip filter {\n\tchain cali-tw-" + pod + " {\n\t\tjump cali-pri-kns.default\n\t}\n\tchain cali-FORWARD {\n\t\tcounter packets 1 bytes 2 jump cali-to-wl-dispatch\n\t}\n}\n"
	without := "*filter\n-A cali-FORWARD -j cali-to-wl-dispatch\nCOMMIT\n"
	nftWithout := "table ip filter {\n\tchain cali-FORWARD {\n\t\tcounter packets 7 bytes 9 jump cali-to-wl-dispatch\n\t}\n}\n"
	moreRule := "*filter\n-A cali-FORWARD -j cali-to-wl-dispatch\n-A cali-FORWARD -j DROP\nCOMMIT\n"
	assert.Equal(t, readState(t, withPod, nftWithPod), readState(t, without, nftWithout))
	assert.NotEqual(t, readState(t, without, nftWithout), readState(t, moreRule, nftWithout), "a rule more in a shared chain is a change")
}

// Calico re-hashing the rule IDs of a dispatch chain when a pod's interface joins or leaves, and
// the blank line a dropped nft chain leaves, are not changes a check made; a DROP more is.
func TestNodeStateLeavesOutCalicoRuleIDs(t *testing.T) {
	before := "*filter\n-A cali-from-wl-dispatch -m comment --comment \"cali:aiJCDWhRZEtX9_uK\" -m comment --comment \"Unknown interface\" -j DROP\nCOMMIT\n"
	after := "*filter\n-A cali-from-wl-dispatch -m comment --comment \"cali:W-MGBKN9__JlQfDm\" -m comment --comment \"Unknown interface\" -j DROP\nCOMMIT\n"
	moreDrop := after + "-A cali-FORWARD -j DROP\n"
	nft := "table ip filter {\n\tchain a {\n\t}\n\n\tchain b {\n\t}\n}\n"
	assert.Equal(t, readState(t, before, nft), readState(t, after, "table ip filter {\n\tchain a {\n\t}\n\tchain b {\n\t}\n}\n"))
	assert.NotEqual(t, readState(t, after, nft), readState(t, moreDrop, nft), "a DROP more is a change")
}

// readState is nodeState of a fake node whose iptables-nft-save and nft print ipt and nft.
func readState(t *testing.T, ipt, nft string) string {
	t.Helper()
	n := node.NewFake("w1").Reply("iptables-legacy-save", "").Reply("iptables-nft-save", ipt).
		Reply("nft list ruleset", nft).Reply("sysctl", "1\n1\n2").Reply("sh -c", "abc  -")
	s, err := nodeState(t.Context(), []node.Node{n})
	require.NoError(t, err)
	return s["w1"]
}
