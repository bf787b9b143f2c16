package iproute

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// routeGetOutput is what RouteGetArgv's command printed on Linux 6.18 (iproute2 6.1) in a network
// namespace whose route to 10.9.9.0/24 leaves through ethb, with net.ipv4.conf.all.rp_filter=1
// (kernels before 6.13 answer a refused validation with "Invalid cross-device link").
const routeGetOutput = `input 192.168.20.5 10.9.9.9 etha
RTNETLINK answers: Invalid argument
output 10.9.9.9
[{"dst":"10.9.9.9","gateway":"192.168.20.2","dev":"ethb","prefsrc":"192.168.20.1","flags":[],"uid":0,"cache":[]}]
input 192.168.20.5 10.9.9.9 ethb
[{"dst":"192.168.20.5","from":"10.9.9.9","dev":"ethb","flags":[],"cache":[],"iif":"ethb"}]
input 192.168.10.1 10.8.8.8 etha
RTNETLINK answers: Invalid argument
output 10.8.8.8
RTNETLINK answers: Network is unreachable
input 192.168.20.5 10.9.9.9 nosuch
Cannot find device "nosuch"
output 10.9.9.9
[{"dst":"10.9.9.9","gateway":"192.168.20.2","dev":"ethb","prefsrc":"192.168.20.1","flags":[],"uid":0,"cache":[]}]
`

func TestParseRouteGet(t *testing.T) {
	gets := ParseRouteGet([]byte(routeGetOutput))
	require.Len(t, gets, 4)
	a := netip.MustParseAddr
	assert.Equal(t, Flow{Dst: a("192.168.20.5"), Src: a("10.9.9.9"), Iif: "etha"}, gets[0].Flow)
	assert.True(t, gets[0].Input.Refused())
	assert.Equal(t, "RTNETLINK answers: Invalid argument", gets[0].Input.Err)
	require.NotNil(t, gets[0].Back.Route)
	assert.Equal(t, "10.9.9.9/32 via 192.168.20.2 dev ethb", gets[0].Back.Route.String())

	assert.False(t, gets[1].Input.Refused())
	assert.Equal(t, "ethb", gets[1].Input.Route.Dev)
	assert.False(t, gets[1].Back.Asked, "the route back is asked only of a refused flow")

	assert.Equal(t, "RTNETLINK answers: Network is unreachable", gets[2].Back.Err)
	assert.True(t, gets[2].Back.Refused())
	assert.Equal(t, `Cannot find device "nosuch"`, gets[3].Input.Err)
}

func TestRouteGetArgvPassesFlowsAsArguments(t *testing.T) {
	argv := RouteGetArgv([]Flow{{Dst: netip.MustParseAddr("10.244.1.10"), Src: netip.MustParseAddr("10.244.2.1"), Iif: "flannel.1"}})
	assert.Equal(t, []string{"sh", "-c", routeGetScript, "netcert-route-get", "10.244.1.10", "10.244.2.1", "flannel.1"}, argv)
}

// FuzzParseRouteGet: any output parses without a panic, every flow has valid addresses, every
// answer is a route or an error, and parsing again gives the same.
func FuzzParseRouteGet(f *testing.F) {
	for _, s := range []string{routeGetOutput, "", "input\noutput 1.2.3.4\n", "input x y z\n[]\noutput 1.1.1.1\n",
		"input 1.1.1.1 2.2.2.2 eth0\n[{\"dst\":\"bad\"}]\noutput 2.2.2.2\noutput 2.2.2.2\n[", strings.Repeat("input 1.1.1.1 2.2.2.2 a\n", 3)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		gets := ParseRouteGet([]byte(out))
		for _, g := range gets {
			if !g.Dst.IsValid() || !g.Src.IsValid() || g.Iif == "" || !g.Input.Asked {
				t.Fatalf("invalid flow %+v", g)
			}
			for _, a := range []Answer{g.Input, g.Back} {
				if a.Asked && (a.Route == nil) == (a.Err == "") {
					t.Fatalf("an answer is a route or an error: %+v", a)
				}
			}
		}
		if again := ParseRouteGet([]byte(out)); !reflect.DeepEqual(gets, again) {
			t.Fatal("a second parse differs")
		}
	})
}
