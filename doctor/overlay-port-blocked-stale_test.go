package doctor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/node"
)

// staleCluster is a Flannel cluster of one node whose views print legacy (iptables-legacy-save)
// and ruleset (nft -a list ruleset).
func staleCluster(legacy, ruleset string) *Cluster {
	n := node.NewFake("kind-worker").Reply("iptables-legacy-save -c", legacy).Reply("iptables-nft-save -c", "").
		Reply("nft -a list ruleset", ruleset)
	return &Cluster{Nodes: []node.Node{n}, CNI: "flannel",
		Client: fake.NewClientset(apiNode("kind-worker", "172.18.0.3"), flannelVXLANConfigMap("10.244.0.0/16"))}
}

// The repair's ACCEPTs stay while a rule after them drops the overlay; once it is gone they are
// stale, and their deletion is their exact spec (iptables) or handle (nft).
func TestOverlayStaleGuards(t *testing.T) {
	guards := `*filter
:INPUT ACCEPT [0:0]
[0:0] -A INPUT -s 172.18.0.4/32 -p udp -m udp --dport 8472 -m comment --comment "netcert-repair overlay-port-blocked" -j ACCEPT
[0:0] -A INPUT -s 172.18.0.2/32 -p udp -m udp --dport 8472 -m comment --comment "netcert-repair overlay-port-blocked" -j ACCEPT
`
	reject := "[0:0] -A INPUT -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable\n"
	plan, err := OverlayPortBlocked{}.StaleGuards(t.Context(), staleCluster(guards+reject+"COMMIT\n", ""))
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "the REJECT still needs them")
	plan, err = OverlayPortBlocked{}.StaleGuards(t.Context(), staleCluster(strings.Replace(guards, ":INPUT ACCEPT", ":INPUT DROP", 1)+"COMMIT\n", ""))
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "a DROP policy needs them")
	plan, err = OverlayPortBlocked{}.StaleGuards(t.Context(), staleCluster(strings.Replace(guards, ":INPUT ACCEPT [0:0]", ":INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]", 1)+"[0:0] -A INPUT -j KUBE-FIREWALL\nCOMMIT\n", ""))
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "a jump may reach a drop")
	plan, err = OverlayPortBlocked{}.StaleGuards(t.Context(), staleCluster(guards+"[0:0] -A INPUT -p udp -j NFQUEUE --queue-num 1\n[0:0] -A INPUT -p tcp -j DROP\nCOMMIT\n", ""))
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "a target netcert does not know may drop")

	plan, err = OverlayPortBlocked{}.StaleGuards(t.Context(), staleCluster(guards+"COMMIT\n", ""))
	require.NoError(t, err)
	require.Len(t, plan.Actions, 2)
	assert.Equal(t, [][]string{{"iptables-legacy", "-w", "-t", "filter", "-D", "INPUT", "-s", "172.18.0.4/32", "-p", "udp", "-m", "udp",
		"--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"}}, plan.Actions[0].Argv)

	ruleset := `table inet filter { # handle 3
	chain input { # handle 1
		type filter hook input priority filter; policy accept;
		ip saddr { 172.18.0.2, 172.18.0.4 } udp dport 8472 accept comment "netcert-repair overlay-port-blocked" # handle 7
	}
}
`
	plan, err = OverlayPortBlocked{}.StaleGuards(t.Context(), staleCluster("", ruleset))
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, [][]string{{"nft", "delete", "rule", "inet", "filter", "input", "handle", "7"}}, plan.Actions[0].Argv)
}
