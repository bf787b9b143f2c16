package iproute

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// The files under doctor/testdata/iproute are real iproute2 6.1 output, captured by capture.sh in
// network namespaces built like kind nodes running Flannel.
func iprouteFile(t *testing.T, name string) []byte {
	t.Helper()
	return []byte(captures.Read(t, "iproute", name))
}

func TestParseIPAddrFlannelNode(t *testing.T) {
	addrs, err := ParseAddr(iprouteFile(t, "flannel-cp-addr.json"))
	require.NoError(t, err)
	var got []string
	for _, a := range addrs {
		got = append(got, a.String()+" "+a.Scope)
	}
	assert.Equal(t, []string{
		"127.0.0.1/8 dev lo host",
		"172.18.0.2/16 dev eth0 global",
		"10.244.0.0/32 dev flannel.1 global",
		"10.244.0.1/24 dev cni0 global",
	}, got, "the pod veth has no address")
	assert.Equal(t, netip.MustParsePrefix("10.244.0.0/24"), addrs[3].Network())
	assert.Equal(t, netip.MustParsePrefix("10.244.0.1/24"), addrs[3].Prefix, "host bits kept for ip addr del")
}

func TestParseIPRouteFlannelNode(t *testing.T) {
	routes, err := ParseRoute(iprouteFile(t, "flannel-cp-route.json"))
	require.NoError(t, err)
	require.Len(t, routes, 12)
	assert.Equal(t, Route{Type: "unicast", Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: "172.18.0.1",
		Dev: "eth0", Protocol: "boot", Scope: "global", Table: "main"}, routes[0])
	assert.True(t, routes[0].Default())
	assert.Equal(t, Route{Type: "unicast", Dst: netip.MustParsePrefix("10.244.0.0/24"), Dev: "cni0",
		Protocol: "kernel", Scope: "link", Table: "main"}, routes[1])
	assert.Equal(t, "10.244.1.0/24 via 10.244.1.0 dev flannel.1", routes[2].String(), "Flannel's onlink VXLAN route")
	assert.Equal(t, Route{Type: "local", Dst: netip.MustParsePrefix("10.244.0.0/32"), Dev: "flannel.1",
		Protocol: "kernel", Scope: "host", Table: "local"}, routes[4], "a bare dst is a host route")
	assert.Equal(t, "local 10.244.0.0/32 dev flannel.1 table local proto kernel", routes[4].String())
}

func TestParseIPRouteTablesMetricsProtocols(t *testing.T) {
	routes, err := ParseRoute(iprouteFile(t, "flannel-worker-vlan-route.json"))
	require.NoError(t, err)
	specs := map[string]Route{}
	for _, r := range routes {
		specs[r.String()] = r
	}
	require.Contains(t, specs, "10.244.64.0/18 dev eth1 table 100")
	require.Contains(t, specs, "10.244.128.0/17 via 10.244.0.1 dev eth1 proto static metric 100")
	assert.Equal(t, 100, specs["10.244.128.0/17 via 10.244.0.1 dev eth1 proto static metric 100"].Metric)
	assert.Contains(t, specs, "10.244.0.0/24 dev eth1 proto kernel", "the address's own route")
	assert.Contains(t, specs, "broadcast 10.244.0.255/32 dev eth1 table local proto kernel")
}

func TestParseIPRouteMultipathAndIPv6(t *testing.T) {
	// Hand-written in iproute2's format: the captures have IPv6 off and no multipath route.
	routes, err := ParseRoute([]byte(`[
 {"dst":"default","gateway":"fd00::1","dev":"eth0","protocol":"static","metric":1024,"flags":[],"pref":"medium"},
 {"dst":"fd00:10:244::/64","dev":"eth1","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},
 {"type":"local","dst":"fd00::2","dev":"eth0","table":"local","protocol":"kernel","metric":0,"flags":[],"pref":"medium"},
 {"dst":"10.244.1.0/24","protocol":80,"flags":[],"nexthops":[{"gateway":"10.0.0.1","dev":"eth1","weight":1,"flags":[]},{"gateway":"10.0.1.1","dev":"eth2","weight":1,"flags":[]}]}
]`))
	require.NoError(t, err)
	require.Len(t, routes, 4)
	assert.Equal(t, netip.MustParsePrefix("::/0"), routes[0].Dst)
	assert.True(t, routes[0].Default())
	assert.Equal(t, "default via fd00::1 dev eth0 proto static metric 1024", routes[0].String())
	assert.Equal(t, netip.MustParsePrefix("fd00::2/128"), routes[2].Dst)
	assert.Equal(t, []string{"eth1", "eth2"}, routes[3].Devs())
	assert.Equal(t, "80", routes[3].Protocol, "a protocol number iproute2 has no name for")
	assert.Equal(t, []string{"10.244.1.0/24", "proto", "80"}, routes[3].Spec())
}

func TestParseIPRejectsGarbage(t *testing.T) {
	_, err := ParseAddr([]byte("1: lo: <LOOPBACK,UP> mtu 65536"))
	assert.ErrorContains(t, err, "parse ip -j addr show")
	_, err = ParseAddr([]byte(`[{"ifname":"eth0","addr_info":[{"family":"inet","local":"nope","prefixlen":16}]}]`))
	assert.ErrorContains(t, err, `eth0: bad address "nope"`)
	_, err = ParseRoute([]byte(`[{"dst":"10.244.1.0/33"}]`))
	assert.ErrorContains(t, err, `route dst "10.244.1.0/33"`)
}

// Keys iproute2 may add are left aside and a scalar of another JSON type reads as text; what is
// not JSON at all is an error naming the line.
func TestParseIPToleratesUnknownKeysAndScalarTypes(t *testing.T) {
	addrs, err := ParseAddr([]byte(`[{"ifname":"eth0","new":{"x":[1]},"addr_info":[{},
	 {"family":"inet6","local":"fd00::2","prefixlen":"64","scope":253,"valid_life_time":4294967295}]}]`))
	require.NoError(t, err)
	assert.Equal(t, []Addr{{Dev: "eth0", Prefix: netip.MustParsePrefix("fd00::2/64"), Scope: "253"}}, addrs)

	routes, err := ParseRoute([]byte(`[{"dst":"10.0.0.0/8","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","metric":"7","scope":null,"table":254}]`))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.0/8 dev eth0 table 254 metric 7", routes[0].String())

	_, err = ParseRoute([]byte("[\n{\"dst\": \"10.0.0.0/8\"},\n{\"dst\" 1}\n]"))
	assert.ErrorContains(t, err, "parse ip -j route show: line 3:")
	_, err = ParseRoute([]byte(`[{"dst":"10.0.0.0/8","metric":-1}]`))
	assert.ErrorContains(t, err, `bad metric "-1"`)
}

// The files under doctor/testdata/live were captured by its capture.sh from a running netcert
// kind cluster (3 nodes, Flannel v0.28.10, Docker network 172.20.0.0/16 with IPv6).
func TestLiveIPAddrAndRoutes(t *testing.T) {
	addrs, err := ParseAddr([]byte(captures.Read(t, "live", "worker-addr.json")))
	require.NoError(t, err)
	var got []string
	for _, a := range addrs {
		if a.Prefix.Addr().Is4() {
			got = append(got, a.String())
		}
	}
	assert.ElementsMatch(t, []string{"127.0.0.1/8 dev lo", "10.244.1.0/32 dev flannel.1", "10.244.1.1/24 dev cni0", "172.20.0.3/16 dev eth0"}, got)

	routes, err := ParseRoute([]byte(captures.Read(t, "live", "worker-route.json")))
	require.NoError(t, err)
	var main []string
	for _, r := range routes {
		if r.Table == "main" && r.Dst.Addr().Is4() {
			main = append(main, r.String())
		}
	}
	assert.Equal(t, []string{
		"default via 172.20.0.1 dev eth0",
		"10.244.0.0/24 via 10.244.0.0 dev flannel.1",
		"10.244.1.0/24 dev cni0 proto kernel",
		"10.244.2.0/24 via 10.244.2.0 dev flannel.1",
		"172.20.0.0/16 dev eth0 proto kernel",
	}, main)

	faulty, err := ParseRoute([]byte(captures.Read(t, "live", "worker-fault-route.json")))
	require.NoError(t, err)
	assert.Len(t, faulty, len(routes)+1, "pod-cidr-overlap's route is the only difference")
	var fault []string
	for _, r := range faulty {
		if r.Dev == "ncfault0" {
			fault = append(fault, r.String())
		}
	}
	assert.Equal(t, []string{"10.244.2.0/25 dev ncfault0"}, fault)
}

func TestParseIPRuleReadsRealOutput(t *testing.T) {
	rules, err := ParseRule([]byte(`[{"priority":0,"src":"all","table":"local"},{"priority":100,"src":"10.1.0.0","srclen":16,"table":"100"},` +
		`{"priority":200,"src":"all","dst":"fd00::","dstlen":8,"table":"main"},{"priority":300,"src":"all","fwmark":"0x1","table":"7","unknown":[1]}]`))
	require.NoError(t, err)
	require.Len(t, rules, 4)
	assert.False(t, rules[0].From.IsValid())
	assert.Equal(t, "10.1.0.0/16", rules[1].From.String())
	assert.Equal(t, "fd00::/8", rules[2].To.String())
	assert.Equal(t, "7", rules[3].Table)
	_, err = ParseRule([]byte("Error: ..."))
	assert.Error(t, err)
}
