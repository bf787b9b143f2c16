package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadKubeProxyNat: any iptables-save output is read without a panic, and every chain the
// Service rules lead to is one the reader saw.
func FuzzReadKubeProxyNat(f *testing.F) {
	files, _ := filepath.Glob("../doctor/testdata/kube-proxy/*.save")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b), "default/kubernetes:https")
		}
	}
	f.Add(kpNatSample, "default/kubernetes")
	f.Add("*nat\n-A KUBE-SERVICES -m comment --comment \"a b\" -j KUBE-SVC-X\n-A KUBE-SVC-X\nCOMMIT\n", "a b")
	f.Add("*nat\n:KUBE-SERVICES - [0:0]\n-A\n-A KUBE-SERVICES -m comment --comment\nCOMMIT", "")
	f.Fuzz(func(t *testing.T, text, service string) {
		nat := readKubeProxyNat(text)
		for _, ch := range nat.serviceChains(service) {
			if _, ok := nat.rules[ch]; !ok && !strings.HasPrefix(ch, "KUBE-") {
				t.Fatalf("chain %q is not in the table", ch)
			}
		}
	})
}
