package doctor

import (
	"bytes"
	"encoding/json"
	"errors"
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
// Keys it does not know are left aside, and a scalar of another JSON type than iproute2 prints
// reads as text.
func parseIPAddr(out []byte) ([]ipAddr, error) {
	var links []struct {
		IfName   ipText `json:"ifname"`
		AddrInfo []struct {
			Family    ipText `json:"family"`
			Local     ipText `json:"local"`
			PrefixLen ipText `json:"prefixlen"`
			Scope     ipText `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, ipJSONError("ip -j addr show", out, err)
	}
	var addrs []ipAddr
	for _, l := range links {
		for _, ai := range l.AddrInfo {
			if ai.Family != "inet" && ai.Family != "inet6" {
				continue
			}
			addr, err := netip.ParseAddr(string(ai.Local))
			bits, berr := strconv.Atoi(string(ai.PrefixLen))
			if err != nil || berr != nil {
				return nil, fmt.Errorf("parse ip -j addr show: %s: bad address %q/%q", l.IfName, ai.Local, ai.PrefixLen)
			}
			p, err := addr.Prefix(bits)
			if err != nil {
				return nil, fmt.Errorf("parse ip -j addr show: %s: %w", l.IfName, err)
			}
			addrs = append(addrs, ipAddr{Dev: string(l.IfName), Prefix: netip.PrefixFrom(addr, p.Bits()), Scope: string(ai.Scope)})
		}
	}
	return addrs, nil
}

// parseIPRoute parses `ip -j route show table all`, leaving aside the keys it does not know.
func parseIPRoute(out []byte) ([]ipRoute, error) {
	var raw []struct {
		Type     ipText `json:"type"`
		Dst      ipText `json:"dst"`
		Gateway  ipText `json:"gateway"`
		Dev      ipText `json:"dev"`
		Protocol ipText `json:"protocol"` // a name, or a number iproute2 has no name for
		Scope    ipText `json:"scope"`
		Table    ipText `json:"table"`
		Metric   ipText `json:"metric"`
		Prefsrc  ipText `json:"prefsrc"`
		Nexthops []struct {
			Gateway ipText `json:"gateway"`
			Dev     ipText `json:"dev"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, ipJSONError("ip -j route show", out, err)
	}
	routes := make([]ipRoute, 0, len(raw))
	for _, r := range raw {
		route := ipRoute{
			Type: ipOr(r.Type, "unicast"), Gateway: string(r.Gateway), Dev: string(r.Dev), Scope: ipOr(r.Scope, "global"),
			Protocol: ipOr(r.Protocol, "boot"), Table: ipOr(r.Table, "main"),
		}
		if r.Metric != "" {
			m, err := strconv.ParseUint(string(r.Metric), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parse ip -j route show: route %s: bad metric %q", r.Dst, r.Metric)
			}
			route.Metric = int(m)
		}
		for _, nh := range r.Nexthops {
			route.Nexthops = append(route.Nexthops, ipNexthop{Gateway: string(nh.Gateway), Dev: string(nh.Dev)})
		}
		dst, err := parseRouteDst(string(r.Dst), string(r.Gateway+r.Prefsrc))
		if err != nil {
			return nil, fmt.Errorf("parse ip -j route show: %w", err)
		}
		route.Dst = dst
		routes = append(routes, route)
	}
	return routes, nil
}

// ipJSONError names the line of out where JSON decoding failed.
func ipJSONError(cmd string, out []byte, err error) error {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 || offset > int64(len(out)) {
		return fmt.Errorf("parse %s: %w", cmd, err)
	}
	return fmt.Errorf("parse %s: line %d: %w", cmd, bytes.Count(out[:offset], []byte("\n"))+1, err)
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

// ipText is a JSON scalar read as text: a string's value or a number's digits; null, true,
// false, objects and arrays read as "" (iproute2 prints some fields as a name or, lacking one, a
// number).
type ipText string

func (t *ipText) UnmarshalJSON(raw []byte) error {
	var s string
	var n json.Number
	switch {
	case json.Unmarshal(raw, &s) == nil:
		*t = ipText(s)
	case json.Unmarshal(raw, &n) == nil:
		*t = ipText(n.String())
	default:
		*t = ""
	}
	return nil
}

func ipOr(s ipText, def string) string {
	if s == "" {
		return def
	}
	return string(s)
}
