package doctor

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseSysctlGrep: any grep output parses without a panic; every assignment comes from a
// .conf file or /etc/sysctl.conf, and the effective value of a key is one of its assignments.
func FuzzParseSysctlGrep(f *testing.F) {
	if real, err := os.ReadFile("testdata/live/worker-sysctl.grep"); err == nil {
		f.Add(string(real))
	}
	for _, seed := range []string{
		"/etc/sysctl.d/99-netcert.conf:net.ipv4.ip_forward = 1\n/etc/sysctl.conf:net/ipv4/ip_forward=0",
		"/etc/sysctl.d/10-x.conf:-net.ipv4.ip_forward=1\n/etc/sysctl.d/x.conf:; comment\n/usr/lib/sysctl.d/50-default.conf:net.ipv4.ip_forward=",
		"no colon here\n:=\n/etc/sysctl.conf:\n/etc/sysctl.conf:=", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, out string) {
		list := parseSysctlGrep(out)
		for _, a := range list {
			if a.File != sysctlConf && !strings.HasSuffix(a.File, ".conf") {
				t.Fatalf("assignment from %q", a.File)
			}
		}
		if len(list) > 0 {
			got, ok := effectiveSysctl(list, list[0].Key)
			if !ok {
				t.Fatalf("no effective value for %q among %v", list[0].Key, list)
			}
			found := false
			for _, a := range list {
				found = found || a == got
			}
			if !found {
				t.Fatalf("effective %v is none of %v", got, list)
			}
		}
	})
}
