package sysctl

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
)

const ipForwardKey = "net.ipv4.ip_forward"

func TestEffectiveSysctlFollowsBootOrder(t *testing.T) {
	list := ParseGrep(strings.Join([]string{
		"/usr/lib/sysctl.d/50-default.conf:net.ipv4.ip_forward = 0",
		"/etc/sysctl.d/50-default.conf:net.ipv4.ip_forward = 1", // hides the /usr/lib file of the same name
		"/etc/sysctl.d/README.sysctl:net.ipv4.ip_forward = 0",   // not a .conf file
		"/run/sysctl.d/60-x.conf:# net.ipv4.ip_forward = 0",     // a comment
		"/run/sysctl.d/70-y.conf:net/ipv4/ip_forward=1",
	}, "\n"))
	a, ok := Effective(list, ipForwardKey)
	require.True(t, ok)
	assert.Equal(t, Assignment{File: "/run/sysctl.d/70-y.conf", Key: ipForwardKey, Value: "1"}, a)

	list = append(list, Assignment{File: Conf, Key: ipForwardKey, Value: "0"})
	a, _ = Effective(list, ipForwardKey)
	assert.Equal(t, "0", a.Value, "/etc/sysctl.conf is read last")
}

// doctor/testdata/live/worker-sysctl.grep was captured from a running netcert kind cluster.
func TestLiveSysctl(t *testing.T) {
	list := ParseGrep(captures.Read(t, "live", "worker-sysctl.grep"))
	assert.Empty(t, list, "the kind node's /etc/sysctl.conf only has the line commented out")
	_, found := Effective(list, ipForwardKey)
	assert.False(t, found)
}
