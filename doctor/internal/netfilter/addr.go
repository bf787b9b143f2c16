package netfilter

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// AddrMatch is a source or destination match: prefixes, addresses under a netmask, or a named set,
// possibly negated.
type AddrMatch struct {
	Prefixes []netip.Prefix
	Masked   []MaskedAddr // non-contiguous netmasks (iptables' -s 10.0.0.0/255.0.255.0)
	Set      string       // an ipset (--match-set) or nft set (@name)
	Negate   bool
}

// MaskedAddr is an address under a netmask that is no prefix: it holds every address that
// equals Addr in the bits Mask sets.
type MaskedAddr struct{ Addr, Mask netip.Addr }

// Contains reports whether a equals the masked address in the mask's bits.
func (m MaskedAddr) Contains(a netip.Addr) bool {
	if a.BitLen() != m.Addr.BitLen() {
		return false
	}
	x, y, mask := a.As16(), m.Addr.As16(), m.Mask.As16()
	for i := range mask {
		if x[i]&mask[i] != y[i]&mask[i] {
			return false
		}
	}
	return true
}

// add parses an address, a prefix ("10.0.0.0/8") or an address under a netmask
// ("10.0.0.0/255.255.255.0", "10.0.0.0/255.0.255.0") into the match.
func (m *AddrMatch) add(s string) error {
	addrText, maskText, masked := strings.Cut(s, "/")
	if !masked || !strings.ContainsAny(maskText, ".:") {
		p, err := parsePrefixOrAddr(s)
		if err == nil {
			m.Prefixes = append(m.Prefixes, p)
		}
		return err
	}
	addr, err := netip.ParseAddr(addrText)
	mask, merr := netip.ParseAddr(maskText)
	if err != nil || merr != nil || mask.BitLen() != addr.BitLen() || mask.Zone() != "" {
		return fmt.Errorf("bad address or netmask %q", s)
	}
	if bits, ok := prefixLen(mask); ok {
		m.Prefixes = append(m.Prefixes, netip.PrefixFrom(addr, bits))
	} else {
		m.Masked = append(m.Masked, MaskedAddr{addr, mask})
	}
	return nil
}

// prefixLen returns the length of a contiguous netmask (255.255.255.0: 24); ok is false when the
// mask's ones are not all at its start.
func prefixLen(mask netip.Addr) (n int, ok bool) {
	for _, x := range mask.AsSlice() {
		n += bits.OnesCount8(x)
	}
	p, err := mask.Prefix(n)
	return n, err == nil && p.Addr() == mask
}

// parsePrefixOrAddr parses "10.0.0.0/8" or a bare address (a host prefix).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Restricts reports whether the match admits only listed addresses.
func (m AddrMatch) Restricts() bool {
	return !m.Negate && (len(m.Prefixes) > 0 || len(m.Masked) > 0 || m.Set != "")
}

// Holds reports whether the match lists addr itself (a prefix or masked address that contains it).
func (m AddrMatch) Holds(addr netip.Addr) bool {
	return !m.Negate && (slices.ContainsFunc(m.Prefixes, func(p netip.Prefix) bool { return p.Contains(addr) }) ||
		slices.ContainsFunc(m.Masked, func(x MaskedAddr) bool { return x.Contains(addr) }))
}
