package iproute

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
)

// AddrShowArgv is the command whose output ParseAddr reads: both families.
var AddrShowArgv = []string{"ip", "-j", "addr", "show"}

// Addr is one address of a network interface, from `ip -j addr show`.
type Addr struct {
	Dev    string
	Prefix netip.Prefix // the address with its prefix length, host bits kept (10.244.0.254/24)
	Scope  string       // "global", "link", "host"
}

// Network returns the subnet the address is on (10.244.0.0/24).
func (a Addr) Network() netip.Prefix { return a.Prefix.Masked() }

// String is how findings and plans name the address: "10.244.0.254/24 dev eth1".
func (a Addr) String() string { return a.Prefix.String() + " dev " + a.Dev }

// ParseAddr parses `ip -j addr show` into the IPv4 and IPv6 addresses of every interface.
// Keys it does not know are left aside, and a scalar of another JSON type than iproute2 prints
// reads as text.
func ParseAddr(out []byte) ([]Addr, error) {
	var links []struct {
		IfName   jsonText `json:"ifname"`
		AddrInfo []struct {
			Family    jsonText `json:"family"`
			Local     jsonText `json:"local"`
			PrefixLen jsonText `json:"prefixlen"`
			Scope     jsonText `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, jsonError("ip -j addr show", out, err)
	}
	var addrs []Addr
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
			addrs = append(addrs, Addr{Dev: string(l.IfName), Prefix: netip.PrefixFrom(addr, p.Bits()), Scope: string(ai.Scope)})
		}
	}
	return addrs, nil
}
