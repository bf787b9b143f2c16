// Package iproute reads iproute2's JSON output (`ip -j addr`, `ip -j route`, `ip -j rule`) into
// addresses, routes and policy routing rules.
package iproute

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RouteShowArgv is the command whose output ParseRoute reads: both families, every table.
var RouteShowArgv = []string{"ip", "-j", "route", "show", "table", "all"}

// Route is one route, from `ip -j route show table all`. Zero values of Type, Protocol and
// Table are filled with what iproute2 leaves out: unicast, boot, main.
type Route struct {
	Type     string
	Dst      netip.Prefix // 0.0.0.0/0 or ::/0 for the default route; a host route is /32 or /128
	Gateway  string
	Dev      string
	Protocol string
	Scope    string
	Table    string
	Metric   int
	Nexthops []Nexthop // multipath routes only
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Gateway, Dev string
}

// Default reports whether the route is a default route.
func (r Route) Default() bool { return r.Dst.Bits() == 0 }

// Devs returns the devices the route sends traffic through.
func (r Route) Devs() []string {
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
func (r Route) Spec() []string {
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
func (r Route) String() string { return strings.Join(r.Spec(), " ") }

// ParseRoute parses `ip -j route show table all`, leaving aside the keys it does not know.
func ParseRoute(out []byte) ([]Route, error) {
	var raw []struct {
		Type     jsonText `json:"type"`
		Dst      jsonText `json:"dst"`
		Gateway  jsonText `json:"gateway"`
		Dev      jsonText `json:"dev"`
		Protocol jsonText `json:"protocol"` // a name, or a number iproute2 has no name for
		Scope    jsonText `json:"scope"`
		Table    jsonText `json:"table"`
		Metric   jsonText `json:"metric"`
		Prefsrc  jsonText `json:"prefsrc"`
		Nexthops []struct {
			Gateway jsonText `json:"gateway"`
			Dev     jsonText `json:"dev"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, jsonError("ip -j route show", out, err)
	}
	routes := make([]Route, 0, len(raw))
	for _, r := range raw {
		route := Route{
			Type: orDefault(r.Type, "unicast"), Gateway: string(r.Gateway), Dev: string(r.Dev), Scope: orDefault(r.Scope, "global"),
			Protocol: orDefault(r.Protocol, "boot"), Table: orDefault(r.Table, "main"),
		}
		if r.Metric != "" {
			m, err := strconv.ParseUint(string(r.Metric), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parse ip -j route show: route %s: bad metric %q", r.Dst, r.Metric)
			}
			route.Metric = int(m)
		}
		for _, nh := range r.Nexthops {
			route.Nexthops = append(route.Nexthops, Nexthop{Gateway: string(nh.Gateway), Dev: string(nh.Dev)})
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
