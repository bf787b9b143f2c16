package doctor

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseKubeProxyNft: any listing parses or errors (an unbalanced one), never panics, and
// parses the same way twice.
func FuzzParseKubeProxyNft(f *testing.F) {
	files, _ := filepath.Glob("testdata/kube-proxy/*.nft")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	for _, seed := range []string{
		"table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { 10.96.0.1 . tcp . 443 : goto service-X,\n\t\t\t10.96.0.10 . udp . 53 : goto service-Y }\n\t}\n}\n",
		"table ip kube-proxy {\n\tchain service-X {\n\t\tcomment \"a { b\"\n\t\tnumgen random mod 2 vmap { 0 : goto endpoint-A , 1 : goto endpoint-B }\n\t}\n}\n",
		"}}}", "table ip kube-proxy {", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, errA := parseKubeProxyNft(text)
		b, errB := parseKubeProxyNft(text)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("two parses disagree: %v, %v", errA, errB)
		}
		if errA == nil && (len(a.chains) != len(b.chains) || len(a.serviceIPs) != len(b.serviceIPs)) {
			t.Fatal("two parses give different tables")
		}
	})
}
