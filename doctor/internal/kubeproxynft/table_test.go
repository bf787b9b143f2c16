package kubeproxynft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
)

func TestParseKubeProxyNft(t *testing.T) {
	tbl, err := Parse("table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n" +
		"\t\telements = { 10.96.5.5 . 6 . 80 comment \"a, b\" : goto service-X,\n\t\t\t     10.96.0.1 . tcp . 443 : jump service-Y }\n\t}\n" +
		"\tchain service-X {\n\t\tcomment \"a { b\"\n\t\tmeta l4proto tcp dnat to 10.244.1.4:8080\n\t}\n}\n")
	require.NoError(t, err)
	assert.Equal(t, Element{Key: "10.96.5.5 . tcp . 80", Target: "service-X", Text: `10.96.5.5 . 6 . 80 comment "a, b" : goto service-X`},
		tbl.ServiceIPs["10.96.5.5 . tcp . 80"], "a protocol by number, an element with a comment")
	assert.Equal(t, "service-Y", tbl.ServiceIPs["10.96.0.1 . tcp . 443"].Target)
	assert.Equal(t, map[string][]string{"service-X": {"meta l4proto tcp dnat to 10.244.1.4:8080"}}, tbl.Chains, "the chain's comment left out")

	// kube-proxy 1.36 squashes the endpoint chains into the service chain's DNAT map.
	w := Words("meta l4proto udp dnat ip addr . port to numgen random mod 2 map { 0 : 10.244.0.2 . 53, 1 : 10.244.0.3 . 53 }")
	assert.Equal(t, []string{"10.244.0.2:53", "10.244.0.3:53"}, DNATMap(w))

	_, err = Parse("table ip kube-proxy {\n\tchain services {\n")
	assert.ErrorContains(t, err, "not closed")
	_, err = Parse("chain x {\n}\n")
	assert.ErrorContains(t, err, "expected a table")
}

// A real listing: `nft list table ip kube-proxy` on a worker of a kind cluster with
// kubeProxyMode nftables (Kubernetes 1.34, Flannel), captured by hand.
func TestParseKubeProxyNftOfARealNode(t *testing.T) {
	tbl, err := Parse(captures.Read(t, "kube-proxy", "kind-nftables-mode.nft"))
	require.NoError(t, err)
	assert.Len(t, tbl.ServiceIPs, 10, "every ClusterIP port with endpoints")
	assert.Equal(t, "service-YY5RWCBQ-netcert-system/netcert-probe/tcp/http", tbl.ServiceIPs["10.96.32.136 . tcp . 80"].Target)
}
