package kubeproxynft

import (
	"testing"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// FuzzParseKubeProxyNft: any listing parses or errors (an unbalanced one), never panics, and
// parses the same way twice.
func FuzzParseKubeProxyNft(f *testing.F) {
	captures.Seed(f, []string{"kube-proxy"}, ".nft")
	for _, seed := range []string{
		"table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { 10.96.0.1 . tcp . 443 : goto service-X,\n\t\t\t10.96.0.10 . udp . 53 : goto service-Y }\n\t}\n}\n",
		"table ip kube-proxy {\n\tchain service-X {\n\t\tcomment \"a { b\"\n\t\tnumgen random mod 2 vmap { 0 : goto endpoint-A , 1 : goto endpoint-B }\n\t}\n}\n",
		"}}}", "table ip kube-proxy {", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, errA := Parse(text)
		b, errB := Parse(text)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("two parses disagree: %v, %v", errA, errB)
		}
		if errA == nil && (len(a.Chains) != len(b.Chains) || len(a.ServiceIPs) != len(b.ServiceIPs)) {
			t.Fatal("two parses give different tables")
		}
	})
}
