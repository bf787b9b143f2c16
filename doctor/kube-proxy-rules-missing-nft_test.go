package doctor

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/kubeproxynft"
)

func TestKubeProxyNftLookup(t *testing.T) {
	// kube-proxy 1.36 squashes the endpoint chains into the service chain's DNAT map.
	text := "table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n" +
		"\t\telements = { 10.96.0.10 . udp . 53 : goto service-FY5PMXPG-kube-system/kube-dns/udp/dns,\n" +
		"\t\t\t     10.96.5.5 . 6 . 80 comment \"a, b\" : goto service-X }\n\t}\n\n" +
		"\tchain service-FY5PMXPG-kube-system/kube-dns/udp/dns {\n" +
		"\t\tmeta l4proto udp dnat ip addr . port to numgen random mod 2 map { 0 : 10.244.0.2 . 53, 1 : 10.244.0.3 . 53 }\n\t}\n" +
		"\tchain service-X {\n\t\tmeta l4proto tcp dnat to 10.244.1.4:8080\n\t}\n}\n"
	tbl, err := kubeproxynft.Parse(text)
	require.NoError(t, err)
	prog := kpNftLookup(tbl, kpServicePort{IP: netip.MustParseAddr("10.96.0.10"), Port: 53, Proto: "udp"})
	assert.True(t, prog.Found)
	assert.Equal(t, []string{"10.244.0.2:53", "10.244.0.3:53"}, prog.Endpoints)
	prog = kpNftLookup(tbl, kpServicePort{IP: netip.MustParseAddr("10.96.5.5"), Port: 80, Proto: "tcp"})
	assert.Equal(t, []string{"10.244.1.4:8080"}, prog.Endpoints, "a protocol by number, an element with a comment")
}

// A real listing: `nft list table ip kube-proxy` on a worker of a kind cluster with
// kubeProxyMode nftables (Kubernetes 1.34, Flannel), captured by hand.
func TestKubeProxyNftLookupOfARealNode(t *testing.T) {
	tbl, err := kubeproxynft.Parse(testdata(t, "kube-proxy", "kind-nftables-mode.nft"))
	require.NoError(t, err)
	prog := kpNftLookup(tbl, kpServicePort{IP: netip.MustParseAddr("10.96.32.136"), Port: 80, Proto: "tcp"})
	require.True(t, prog.Found)
	assert.Equal(t, "service-YY5RWCBQ-netcert-system/netcert-probe/tcp/http", prog.Chain)
	assert.ElementsMatch(t, []string{"10.244.0.6:8080", "10.244.1.3:8080", "10.244.2.2:8080"}, prog.Endpoints)
	assert.False(t, kpNftLookup(tbl, kpServicePort{IP: netip.MustParseAddr("10.96.106.170"), Port: 53, Proto: "udp"}).Found,
		"a Service without endpoints is only in no-endpoint-services")
}

func TestKubeProxyRulesMissingNftablesMode(t *testing.T) {
	c, _ := kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-nftables-mode.save", "nft-healthy.nft"))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Pass, findings[0].Status)
	assert.Equal(t, "5 Service ports programmed (nftables mode)", findings[0].Summary)
	assert.Equal(t, "netcert-worker$ nft list table ip kube-proxy", findings[0].Evidence[0].Source)

	c, _ = kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-nftables-mode.save", "nft-broken.nft"))
	findings, err = kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 2)
	assert.Equal(t, "service kube-system/kube-dns 53/tcp", findings[0].Object)
	assert.Equal(t, "no service-ips element for 10.96.0.10:53/tcp", findings[0].Summary)
	assert.Contains(t, findings[0].Evidence[0].Output, "service-ips: 10.96.0.10 . udp . 53 : goto service-FY5PMXPG-kube-system/kube-dns/udp/dns")
	assert.Equal(t, "service kube-system/kube-dns 53/udp", findings[1].Object)
	assert.Equal(t, "service-FY5PMXPG-kube-system/kube-dns/udp/dns has 1 of 2 endpoints: missing 10.244.0.3:53", findings[1].Summary)
	assert.Equal(t, "service-ips: 10.96.0.10 . udp . 53 : goto service-FY5PMXPG-kube-system/kube-dns/udp/dns\n"+
		"service-FY5PMXPG-kube-system/kube-dns/udp/dns: ip daddr 10.96.0.10 ip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"+
		"service-FY5PMXPG-kube-system/kube-dns/udp/dns: numgen random mod 1 vmap { 0 : goto endpoint-2GKX576Q-kube-system/kube-dns/udp/dns__10.244.0.2/53 }\n"+
		"endpoint-2GKX576Q-kube-system/kube-dns/udp/dns__10.244.0.2/53: ip saddr 10.244.0.2 jump mark-for-masquerade\n"+
		"endpoint-2GKX576Q-kube-system/kube-dns/udp/dns__10.244.0.2/53: meta l4proto udp dnat to 10.244.0.2:53", findings[1].Evidence[0].Output)
	for _, f := range findings {
		assert.Equal(t, Fail, f.Status)
		assert.Equal(t, "netcert-worker$ nft list table ip kube-proxy", f.Evidence[0].Source)
	}
}
