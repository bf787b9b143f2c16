package testbed

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNetworkHostAddr(t *testing.T) {
	for subnet, want := range map[string][2]string{
		"172.20.0.0/16":  {"172.20.255.10", "172.20.255.0/24"},
		"10.250.0.0/16":  {"10.250.255.10", "10.250.255.0/24"},
		"192.168.7.0/24": {"192.168.7.10", "192.168.7.0/24"},
		"10.0.0.0/8":     {"10.255.255.10", "10.255.255.0/24"},
	} {
		addr, slash24, err := networkHostAddr(netip.MustParsePrefix(subnet))
		require.NoError(t, err, subnet)
		assert.Equal(t, want, [2]string{addr.String(), slash24.String()}, subnet)
	}
	for _, bad := range []string{"172.20.0.0/25", "fc00::/64"} {
		_, _, err := networkHostAddr(netip.MustParsePrefix(bad))
		assert.Error(t, err, bad)
	}
}

func TestFreeSubnet(t *testing.T) {
	p := netip.MustParsePrefix
	got, err := freeSubnet([]netip.Prefix{p("0.0.0.0/0"), p("172.17.0.0/16"), p("172.18.0.0/16"), p("172.19.5.0/24"), p("192.0.2.0/24")})
	require.NoError(t, err)
	assert.Equal(t, "172.20.0.0/16", got, "the default route does not count")
	var all []netip.Prefix
	for n := 16; n < 32; n++ {
		all = append(all, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(n), 0, 0}), 16))
	}
	_, err = freeSubnet(all)
	assert.ErrorContains(t, err, "no free subnet")
}
