package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/kube/corefile"
	"github.com/netcert/netcert/node"
)

// The files under testdata/live were captured by testdata/live/capture.sh from a running netcert
// kind cluster (3 nodes, Flannel v0.28.10, kube-proxy in iptables mode on iptables-nft, Docker
// network 172.20.0.0/16 with IPv6): the doctor's views and the Corefile are read from them here,
// the other parsers' tests (doctor/internal/...) read them too.
func liveFile(t *testing.T, name string) string {
	t.Helper()
	return testdata(t, "live", name)
}

// liveNetfilterNode serves the captured netfilter views of the worker, healthy or blocked.
func liveNetfilterNode(t *testing.T, blocked bool) *node.Fake {
	n := node.NewFake("netcert-smoke-worker")
	state := ""
	if blocked {
		state = "blocked-"
	}
	n.Handle("iptables-legacy-save -c", func([]string) (string, int) { return liveFile(t, "worker-legacy.save"), 0 })
	n.Handle("iptables-nft-save -c", func([]string) (string, int) { return liveFile(t, "worker-"+state+"nft.save"), 0 })
	n.Handle("nft -a list ruleset", func([]string) (string, int) { return liveFile(t, "worker-"+state+"ruleset.nft"), 0 })
	return n
}

func TestLiveNetfilterViews(t *testing.T) {
	healthy, err := readNodeViews(t.Context(), liveNetfilterNode(t, false))
	require.NoError(t, err)
	assert.Equal(t, "read iptables-legacy, iptables-nft, nft", healthy.read(), "an empty legacy view is still read")
	xt := healthy.ruleset(netfilter.XtNft)
	require.NotNil(t, xt)
	assert.NotNil(t, xt.Chain("ip", "filter", "KUBE-SERVICES"), "kube-proxy's chains")
	assert.NotNil(t, xt.Chain("ip", "nat", "KUBE-SERVICES"))
	assert.Empty(t, healthy.ruleset(netfilter.Native).Chains, "every nft table is iptables-nft's (shown once, in that view) or ip6")
	assert.Empty(t, portRules(blockingRules(healthy, 8472)), "nothing on a healthy Flannel node drops VXLAN")

	blocked, err := readNodeViews(t.Context(), liveNetfilterNode(t, true))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"iptables-nft filter INPUT: -A INPUT -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP",
		`nft inet netcert_fault input: udp dport 8472 counter packets 0 bytes 0 drop comment "netcert-fault"`,
	}, ruleTexts(portRules(blockingRules(blocked, 8472))), "each injector's rule, once: the nft view leaves out what iptables-nft shows")
}

func TestLiveCorefile(t *testing.T) {
	cf, err := corefile.Parse(liveFile(t, "coredns.Corefile"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	require.Len(t, cf.Forwards[0].Targets, 1)
	assert.Equal(t, "10.96.249.14:53", cf.Forwards[0].Targets[0].Address)
	assert.True(t, cf.Forwards[0].Targets[0].Probeable())
}
