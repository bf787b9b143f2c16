package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/kube/corefile"
	"github.com/netcert/netcert/node"
)

// The files under testdata/live were captured by testdata/live/capture.sh from a running netcert
// kind cluster (3 nodes, Flannel v0.28.10, kube-proxy in iptables mode on iptables-nft, Docker
// network 172.20.0.0/16 with IPv6): every parser of the doctor is run on them here.
func liveFile(t *testing.T, name string) string {
	t.Helper()
	return testdata(t, "live", name)
}

func TestLiveIPAddrAndRoutes(t *testing.T) {
	addrs, err := parseIPAddr([]byte(liveFile(t, "worker-addr.json")))
	require.NoError(t, err)
	var got []string
	for _, a := range addrs {
		if a.Prefix.Addr().Is4() {
			got = append(got, a.String())
		}
	}
	assert.ElementsMatch(t, []string{"127.0.0.1/8 dev lo", "10.244.1.0/32 dev flannel.1", "10.244.1.1/24 dev cni0", "172.20.0.3/16 dev eth0"}, got)

	routes, err := parseIPRoute([]byte(liveFile(t, "worker-route.json")))
	require.NoError(t, err)
	var main []string
	for _, r := range routes {
		if r.Table == "main" && r.Dst.Addr().Is4() {
			main = append(main, r.String())
		}
	}
	assert.Equal(t, []string{
		"default via 172.20.0.1 dev eth0",
		"10.244.0.0/24 via 10.244.0.0 dev flannel.1",
		"10.244.1.0/24 dev cni0 proto kernel",
		"10.244.2.0/24 via 10.244.2.0 dev flannel.1",
		"172.20.0.0/16 dev eth0 proto kernel",
	}, main)

	faulty, err := parseIPRoute([]byte(liveFile(t, "worker-fault-route.json")))
	require.NoError(t, err)
	assert.Len(t, faulty, len(routes)+1, "pod-cidr-overlap's route is the only difference")
	var fault []string
	for _, r := range faulty {
		if r.Dev == "ncfault0" {
			fault = append(fault, r.String())
		}
	}
	assert.Equal(t, []string{"10.244.2.0/25 dev ncfault0"}, fault)
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
	xt := healthy.ruleset(nfXtNft)
	require.NotNil(t, xt)
	assert.NotNil(t, xt.chain("ip", "filter", "KUBE-SERVICES"), "kube-proxy's chains")
	assert.NotNil(t, xt.chain("ip", "nat", "KUBE-SERVICES"))
	assert.Empty(t, healthy.ruleset(nfNative).Chains, "every nft table is iptables-nft's (shown once, in that view) or ip6")
	assert.Empty(t, portRules(blockingRules(healthy, 8472)), "nothing on a healthy Flannel node drops VXLAN")

	blocked, err := readNodeViews(t.Context(), liveNetfilterNode(t, true))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"iptables-nft filter INPUT: -A INPUT -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP",
		`nft inet netcert_fault input: udp dport 8472 counter packets 0 bytes 0 drop comment "netcert-fault"`,
	}, ruleTexts(portRules(blockingRules(blocked, 8472))), "each injector's rule, once: the nft view leaves out what iptables-nft shows")
}

func TestLiveSysctlAndCorefile(t *testing.T) {
	list := parseSysctlGrep(liveFile(t, "worker-sysctl.grep"))
	assert.Empty(t, list, "the kind node's /etc/sysctl.conf only has the line commented out")
	_, found := effectiveSysctl(list, ipForwardKey)
	assert.False(t, found)

	cf, err := corefile.Parse(liveFile(t, "coredns.Corefile"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	require.Len(t, cf.Forwards[0].Targets, 1)
	assert.Equal(t, "10.96.249.14:53", cf.Forwards[0].Targets[0].Address)
	assert.True(t, cf.Forwards[0].Targets[0].Probeable())
}
