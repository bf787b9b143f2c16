package iproute

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// RuleShowArgvs read a node's policy routing rules, both families.
var RuleShowArgvs = [][]string{{"ip", "-j", "-4", "rule", "show"}, {"ip", "-j", "-6", "rule", "show"}}

// Rule is one policy routing rule, as `ip -j rule show` prints it; From and To are invalid
// for "all".
type Rule struct {
	Priority int
	From, To netip.Prefix
	Table    string
	Text     string // how the evidence shows it
}

// ParseRule parses `ip -j rule show`. Keys it does not know are left out of From and To but
// kept in Text.
func ParseRule(out []byte) ([]Rule, error) {
	var raw []map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("parse ip -j rule show: %w", err)
	}
	var rules []Rule
	for _, m := range raw {
		r := Rule{Table: jsonString(m["table"])}
		if p, ok := m["priority"].(float64); ok {
			r.Priority = int(p)
		}
		r.From = rulePrefix(m, "src")
		r.To = rulePrefix(m, "dst")
		r.Text = ruleText(r, m)
		rules = append(rules, r)
	}
	return rules, nil
}

// ruleText shows a rule as `ip rule` does, with the keys it has beyond from, to and the table.
func ruleText(r Rule, m map[string]any) string {
	from := "all"
	if r.From.IsValid() {
		from = r.From.String()
	}
	parts := []string{fmt.Sprintf("%d: from %s", r.Priority, from)}
	if r.To.IsValid() {
		parts = append(parts, "to "+r.To.String())
	}
	known := map[string]bool{"priority": true, "src": true, "srclen": true, "dst": true, "dstlen": true, "table": true}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !known[k] {
			parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
		}
	}
	if r.Table != "" {
		parts = append(parts, "lookup "+r.Table)
	}
	return strings.Join(parts, " ")
}

// rulePrefix reads a rule's src or dst with its length ("all" and absent: invalid).
func rulePrefix(m map[string]any, key string) netip.Prefix {
	addr, err := netip.ParseAddr(jsonString(m[key]))
	if err != nil {
		return netip.Prefix{}
	}
	bits := addr.BitLen()
	if l, ok := m[key+"len"].(float64); ok {
		bits = int(l)
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}
