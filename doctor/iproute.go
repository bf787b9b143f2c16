package doctor

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The iproute2 commands whose JSON output the parsers read: both families, every table.
var (
	ipAddrShowArgv  = []string{"ip", "-j", "addr", "show"}
	ipRouteShowArgv = []string{"ip", "-j", "route", "show", "table", "all"}
)

// ipAddr is one address of a network interface, from `ip -j addr show`.
type ipAddr struct {
	Dev    string
	Prefix netip.Prefix // the address with its prefix length, host bits kept (10.244.0.254/24)
	Scope  string       // "global", "link", "host"
}

// Network returns the subnet the address is on (10.244.0.0/24).
func (a ipAddr) Network() netip.Prefix { return a.Prefix.Masked() }

// String is how findings and plans name the address: "10.244.0.254/24 dev eth1".
func (a ipAddr) String() string { return a.Prefix.String() + " dev " + a.Dev }

// ipRoute is one route, from `ip -j route show table all`. Zero values of Type, Protocol and
// Table are filled with what iproute2 leaves out: unicast, boot, main.
type ipRoute struct {
	Type     string
	Dst      netip.Prefix // 0.0.0.0/0 or ::/0 for the default route; a host route is /32 or /128
	Gateway  string
	Dev      string
	Protocol string
	Scope    string
	Table    string
	Metric   int
	Nexthops []ipNexthop // multipath routes only
}

// ipNexthop is one path of a multipath route.
type ipNexthop struct {
	Gateway, Dev string
}

// Default reports whether the route is a default route.
func (r ipRoute) Default() bool { return r.Dst.Bits() == 0 }

// Devs returns the devices the route sends traffic through.
func (r ipRoute) Devs() []string {
	if len(r.Nexthops) == 0 {
		if r.Dev == "" {
			return nil
		}
		return []string{r.Dev}
	}
	devs := make([]string, 0, len(r.Nexthops))
	for _, nh := range r.Nexthops {
		devs = append(devs, nh.Dev)
	}
	return devs
}

// Spec returns the arguments that name exactly this route to `ip route del`, in the order `ip
// route` prints them: [type] dst [via gw] [dev d] [table t] [proto p] [metric m]. The kernel
// deletes the first route that matches all of them (metric 0 when left out).
func (r ipRoute) Spec() []string {
	var s []string
	if r.Type != "unicast" {
		s = append(s, r.Type)
	}
	if r.Default() {
		s = append(s, "default")
	} else {
		s = append(s, r.Dst.String())
	}
	if len(r.Nexthops) == 0 { // a multipath route is named by dst, table and metric alone
		if r.Gateway != "" {
			s = append(s, "via", r.Gateway)
		}
		if r.Dev != "" {
			s = append(s, "dev", r.Dev)
		}
	}
	if r.Table != "main" {
		s = append(s, "table", r.Table)
	}
	if r.Protocol != "boot" {
		s = append(s, "proto", r.Protocol)
	}
	if r.Metric != 0 {
		s = append(s, "metric", strconv.Itoa(r.Metric))
	}
	return s
}

// String is how findings and plans name the route: its Spec joined by spaces.
func (r ipRoute) String() string { return strings.Join(r.Spec(), " ") }

// parseIPAddr parses `ip -j addr show` into the IPv4 and IPv6 addresses of every interface.
func parseIPAddr(out []byte) ([]ipAddr, error) {
	var links []struct {
		IfName   string `json:"ifname"`
		AddrInfo []struct {
			Family    string `json:"family"`
			Local     string `json:"local"`
			PrefixLen *int   `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, fmt.Errorf("parse ip -j addr show: %w", err)
	}
	var addrs []ipAddr
	for _, l := range links {
		for _, ai := range l.AddrInfo {
			if ai.Family != "inet" && ai.Family != "inet6" {
				continue
			}
			addr, err := netip.ParseAddr(ai.Local)
			if err != nil || ai.PrefixLen == nil {
				return nil, fmt.Errorf("parse ip -j addr show: %s: bad address %q/%v", l.IfName, ai.Local, ai.PrefixLen)
			}
			p, err := addr.Prefix(*ai.PrefixLen)
			if err != nil {
				return nil, fmt.Errorf("parse ip -j addr show: %s: %w", l.IfName, err)
			}
			addrs = append(addrs, ipAddr{Dev: l.IfName, Prefix: netip.PrefixFrom(addr, p.Bits()), Scope: ai.Scope})
		}
	}
	return addrs, nil
}

// parseIPRoute parses `ip -j route show table all`.
func parseIPRoute(out []byte) ([]ipRoute, error) {
	var raw []struct {
		Type     string          `json:"type"`
		Dst      string          `json:"dst"`
		Gateway  string          `json:"gateway"`
		Dev      string          `json:"dev"`
		Protocol json.RawMessage `json:"protocol"` // a name, or a number iproute2 has no name for
		Scope    string          `json:"scope"`
		Table    json.RawMessage `json:"table"`
		Metric   int             `json:"metric"`
		Prefsrc  string          `json:"prefsrc"`
		Nexthops []struct {
			Gateway string `json:"gateway"`
			Dev     string `json:"dev"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("parse ip -j route show: %w", err)
	}
	routes := make([]ipRoute, 0, len(raw))
	for _, r := range raw {
		route := ipRoute{
			Type: ipOr(r.Type, "unicast"), Gateway: r.Gateway, Dev: r.Dev, Scope: ipOr(r.Scope, "global"),
			Protocol: ipOr(ipJSONScalar(r.Protocol), "boot"), Table: ipOr(ipJSONScalar(r.Table), "main"), Metric: r.Metric,
		}
		for _, nh := range r.Nexthops {
			route.Nexthops = append(route.Nexthops, ipNexthop{Gateway: nh.Gateway, Dev: nh.Dev})
		}
		dst, err := parseRouteDst(r.Dst, r.Gateway+r.Prefsrc)
		if err != nil {
			return nil, fmt.Errorf("parse ip -j route show: %w", err)
		}
		route.Dst = dst
		routes = append(routes, route)
	}
	return routes, nil
}

// parseRouteDst parses a route's dst: "default" (its family guessed from hint, the gateway or
// source address), a prefix, or a bare address (a host route).
func parseRouteDst(dst, hint string) (netip.Prefix, error) {
	if dst == "default" {
		if strings.Contains(hint, ":") {
			return netip.MustParsePrefix("::/0"), nil
		}
		return netip.MustParsePrefix("0.0.0.0/0"), nil
	}
	if strings.Contains(dst, "/") {
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			return p, fmt.Errorf("route dst %q: %w", dst, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(dst)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("route dst %q: %w", dst, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ipJSONScalar returns a JSON string's value or a number's text ("" for null or absent).
func ipJSONScalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func ipOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
