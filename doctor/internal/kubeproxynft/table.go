// Package kubeproxynft reads kube-proxy's nftables table, as `nft list table ip kube-proxy`
// prints it: the service-ips verdict map and every chain's statements.
package kubeproxynft

import (
	"fmt"
	"strings"
)

// Table is what netcert reads of `nft list table ip kube-proxy`: the elements of the
// service-ips map (ClusterIP . protocol . port : goto chain) and every chain's statements.
type Table struct {
	ServiceIPs map[string]Element // by "10.96.0.10 . udp . 53"
	Chains     map[string][]string
}

// Element is one element of a verdict map.
type Element struct {
	Key, Target, Text string
}

// Parse parses a listing of kube-proxy's nftables table. Blocks other than chains and
// the service-ips map are skipped, as are chains' type, policy and comment lines; a statement
// netcert does not understand is kept as text. Only an unbalanced listing is an error.
func Parse(text string) (*Table, error) {
	t := &Table{ServiceIPs: map[string]Element{}, Chains: map[string][]string{}}
	depth := 0
	kind, name := "", "" // the open block at depth 2
	// A statement over several lines (a map's elements) is collected until its braces balance,
	// then read once: joining it line by line would be quadratic in its length.
	var pending []string
	balance := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if len(pending) > 0 {
			pending = append(pending, line)
			opens, closes := braces(line)
			if balance += opens - closes; balance > 0 {
				continue
			}
			line, pending = strings.Join(pending, " "), nil
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		opens, closes := braces(line)
		switch {
		case depth == 0:
			if !strings.HasPrefix(line, "table ") || opens != 1 {
				return nil, fmt.Errorf("nft listing line %d: expected a table, got %q", i+1, line)
			}
			depth = 1
		case line == "}":
			depth--
			kind, name = "", ""
		case depth == 1 && opens == 1 && closes == 0 && strings.HasSuffix(line, "{"):
			f := strings.Fields(line)
			kind, name = f[0], ""
			if len(f) == 3 {
				name = unquote(f[1])
			}
			if kind == "chain" {
				t.Chains[name] = []string{}
			}
			depth = 2
		case depth == 1:
			// a table comment or flags
		case opens > closes:
			pending, balance = []string{line}, opens-closes // a map's elements, continued on the next lines
		case kind == "map" && name == "service-ips" && strings.HasPrefix(line, "elements"):
			_, body, _ := strings.Cut(line, "=")
			for _, e := range elements(body) {
				if el, ok := verdictElement(e); ok {
					t.ServiceIPs[el.Key] = el
				}
			}
		case kind == "chain":
			if w := strings.Fields(line)[0]; w == "type" || w == "policy" || w == "comment" {
				continue
			}
			t.Chains[name] = append(t.Chains[name], line)
		}
	}
	if depth != 0 || len(pending) > 0 {
		return nil, fmt.Errorf("nft listing: a block is not closed")
	}
	return t, nil
}
