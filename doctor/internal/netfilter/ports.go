package netfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi int }

// PortMatch is one destination-port match of a rule: the listed ports or, negated, every other.
type PortMatch struct {
	Ranges []PortRange
	Negate bool
}

// Matches reports whether port satisfies the match.
func (m PortMatch) Matches(port int) bool {
	in := false
	for _, r := range m.Ranges {
		in = in || (r.Lo <= port && port <= r.Hi)
	}
	return in != m.Negate
}

// parsePortList parses "8472", "8000:9000" (sep ":"), ":9000", "8000:", and comma lists of those.
func parsePortList(s, sep string) ([]PortRange, error) {
	var out []PortRange
	for _, item := range strings.Split(s, ",") {
		r, ok := parsePortRange(strings.TrimSpace(item), sep)
		if !ok {
			return nil, fmt.Errorf("bad port or range %q", item)
		}
		out = append(out, r)
	}
	return out, nil
}

// parsePortRange parses "8472", or "lo<sep>hi" with either end left out (0, 65535).
func parsePortRange(s, sep string) (PortRange, bool) {
	lo, hi, isRange := strings.Cut(s, sep)
	r := PortRange{0, 65535}
	ok := true
	if lo != "" || !isRange {
		r.Lo, ok = parsePort(lo)
	}
	if !isRange {
		r.Hi = r.Lo
	} else if hi != "" && ok {
		r.Hi, ok = parsePort(hi)
	}
	return r, ok && r.Lo <= r.Hi
}

func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n <= 65535
}
