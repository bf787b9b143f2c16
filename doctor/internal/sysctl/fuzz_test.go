package sysctl

import (
	"strings"
	"testing"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// FuzzParseSysctlGrep: any grep output parses without a panic; every assignment comes from a
// .conf file or /etc/sysctl.conf, and the effective value of a key is one of its assignments.
func FuzzParseSysctlGrep(f *testing.F) {
	captures.Seed(f, []string{"live"}, "sysctl.grep")
	for _, seed := range []string{
		"/etc/sysctl.d/99-netcert.conf:net.ipv4.ip_forward = 1\n/etc/sysctl.conf:net/ipv4/ip_forward=0",
		"/etc/sysctl.d/10-x.conf:-net.ipv4.ip_forward=1\n/etc/sysctl.d/x.conf:; comment\n/usr/lib/sysctl.d/50-default.conf:net.ipv4.ip_forward=",
		"no colon here\n:=\n/etc/sysctl.conf:\n/etc/sysctl.conf:=", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, out string) {
		list := ParseGrep(out)
		for _, a := range list {
			if a.File != Conf && !strings.HasSuffix(a.File, ".conf") {
				t.Fatalf("assignment from %q", a.File)
			}
		}
		if len(list) > 0 {
			got, ok := Effective(list, list[0].Key)
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
