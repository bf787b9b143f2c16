package sysctl

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// confOutput is ConfArgv("rp_filter")'s output in a network namespace of Linux 6.18.
const confOutput = `/proc/sys/net/ipv4/conf/all/rp_filter:0
/proc/sys/net/ipv4/conf/default/rp_filter:0
/proc/sys/net/ipv4/conf/etha/rp_filter:1
/proc/sys/net/ipv4/conf/flannel.1/rp_filter:2
/proc/sys/net/ipv4/conf/lo/rp_filter:0
`

func TestParseConf(t *testing.T) {
	assert.Equal(t, map[string]int{"all": 0, "default": 0, "etha": 1, "flannel.1": 2, "lo": 0}, ParseConf(confOutput, "rp_filter"))
	assert.Empty(t, ParseConf("/proc/sys/net/ipv4/conf/all/forwarding:1\n/proc/sys/net/ipv4/conf/x/rp_filter:y\nrp_filter:1", "rp_filter"))
	assert.Equal(t, "net.ipv4.conf.flannel.1.rp_filter", ConfKey("flannel.1", "rp_filter"))
	assert.Equal(t, "net/ipv4/conf/flannel.1/rp_filter", ConfPath("flannel.1", "rp_filter"))
}

// FuzzParseConf: any output parses without a panic into values of named interfaces.
func FuzzParseConf(f *testing.F) {
	for _, s := range []string{confOutput, "", ":", "/proc/sys/net/ipv4/conf//rp_filter:1", "/proc/sys/net/ipv4/conf/a/b/rp_filter:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		for iface := range ParseConf(out, "rp_filter") {
			if iface == "" {
				t.Fatal("a value without its interface")
			}
		}
	})
}
