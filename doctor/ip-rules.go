package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// readIPRules reads the node's policy routing rules of both families.
func readIPRules(ctx context.Context, n node.Node) ([]iproute.Rule, []Evidence, error) {
	var rules []iproute.Rule
	var evidence []Evidence
	for _, argv := range iproute.RuleShowArgvs {
		out, ev, err := run(ctx, n, argv...)
		if err != nil {
			return nil, nil, err
		}
		evidence = append(evidence, ev)
		if strings.TrimSpace(out) == "" {
			continue
		}
		got, err := iproute.ParseRule([]byte(out))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", n.Name(), err)
		}
		rules = append(rules, got...)
	}
	return rules, evidence, nil
}

// rulesReferring are the rules whose from or to overlaps prefix.
func rulesReferring(rules []iproute.Rule, prefix netip.Prefix) []iproute.Rule {
	var out []iproute.Rule
	for _, r := range rules {
		if (r.From.IsValid() && r.From.Overlaps(prefix)) || (r.To.IsValid() && r.To.Overlaps(prefix)) {
			out = append(out, r)
		}
	}
	return out
}
