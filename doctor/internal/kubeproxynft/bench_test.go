package kubeproxynft

import (
	"regexp"
	"testing"

	"github.com/netcert/netcert/doctor/internal/netfilter/netfiltertest"
)

// BenchmarkParseKubeProxyNftLargeMap: kube-proxy's nftables listing (as `nft list table` prints
// it, without handles) with a service-ips map of 16,000 elements, one per line.
func BenchmarkParseKubeProxyNftLargeMap(b *testing.B) {
	text := regexp.MustCompile(` # handle \d+`).ReplaceAllString(netfiltertest.NftMap(16000), "")
	b.ReportAllocs()
	for b.Loop() {
		t, err := Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		if len(t.ServiceIPs) != 16000 {
			b.Fatalf("%d elements", len(t.ServiceIPs))
		}
	}
}
