package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// nfViews are the commands that print a node's netfilter views with their packet counters.
var nfViews = []struct {
	backend netfilter.Backend
	argv    []string
}{
	{netfilter.Legacy, []string{"iptables-legacy-save", "-c"}},
	{netfilter.XtNft, []string{"iptables-nft-save", "-c"}},
	{netfilter.Native, []string{"nft", "-a", "list", "ruleset"}},
}

// nodeViews is one read of a node's netfilter views.
type nodeViews struct {
	sets     []*netfilter.Ruleset
	evidence map[netfilter.Backend]Evidence // the command, and what it printed or that it is missing
	missing  []string                       // views whose command is not installed
}

// ruleset returns the view of backend, or nil.
func (v *nodeViews) ruleset(b netfilter.Backend) *netfilter.Ruleset {
	for _, rs := range v.sets {
		if rs.Backend == b {
			return rs
		}
	}
	return nil
}

// readNodeViews reads every view of n, the three at once. A view whose command is not installed (exit 127) is
// skipped; a node where none can be read cannot be evaluated. Native nft tables that other
// views already show, or that cannot carry IPv4 VXLAN, are left out: ip tables that
// iptables-nft-save prints (iptables-nft's filter, nat, raw, mangle, security), ip6 and arp.
func readNodeViews(ctx context.Context, n node.Node) (*nodeViews, error) {
	v := &nodeViews{evidence: map[netfilter.Backend]Evidence{}}
	type printed struct {
		out string
		ev  Evidence
		err error
	}
	views := make([]printed, len(nfViews))
	concurrently(len(nfViews), len(nfViews), func(i int) { // the views are independent reads
		p := &views[i]
		p.out, p.ev, p.err = run(ctx, n, nfViews[i].argv...)
	})
	for i, view := range nfViews {
		out, ev, err := views[i].out, views[i].ev, views[i].err
		if code, ran := node.ExitCode(err); ran && code == 127 {
			v.missing = append(v.missing, view.argv[0])
			ev.Output = view.argv[0] + " is not installed: view not read"
			v.evidence[view.backend] = ev
			continue
		} else if err != nil {
			return nil, err
		}
		var rs *netfilter.Ruleset
		if view.backend == netfilter.Native {
			rs, err = netfilter.ParseNft(out)
		} else {
			rs, err = netfilter.ParseIptablesSave(view.backend, out)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", node.CommandLine(n, view.argv), err)
		}
		if view.backend == netfilter.Native {
			managed := map[string]bool{}
			if xt := v.ruleset(netfilter.XtNft); xt != nil {
				managed = xt.Tables()
			}
			rs.KeepChains(func(c *netfilter.Chain) bool {
				return c.Family != "ip6" && c.Family != "arp" && !managed[c.Family+" "+c.Table]
			})
		}
		v.sets = append(v.sets, rs)
		ev.Output = digest(rs)
		v.evidence[view.backend] = ev
	}
	if len(v.sets) == 0 {
		return nil, fmt.Errorf("%s: no netfilter view can be read (%s)", n.Name(), strings.Join(v.missing, ", "))
	}
	return v, nil
}

// ruleRef names a rule stably across reads: nft by its handle, iptables by its table, chain and
// text (equal rules in one chain share a ref; the first stands for them all).
func ruleRef(r *netfilter.Rule) string {
	if r.Backend == netfilter.Native && !r.Policy {
		return fmt.Sprintf("nft %s %s %s handle %d", r.Family, r.Table, r.Chain, r.Handle)
	}
	return string(r.Backend) + " " + r.Where() + ": " + r.Text
}

// rulesByRef indexes every rule of the views, and every DROP policy, by ref (the first of equal
// iptables rules wins).
func rulesByRef(v *nodeViews) map[string]*netfilter.Rule {
	out := map[string]*netfilter.Rule{}
	for _, rs := range v.sets {
		for _, c := range rs.Chains {
			for _, r := range c.WithPolicy(rs.Backend) {
				if ref := ruleRef(r); out[ref] == nil {
					out[ref] = r
				}
			}
		}
	}
	return out
}

// read says which views of a node were read.
func (v *nodeViews) read() string {
	var names []string
	for _, rs := range v.sets {
		names = append(names, string(rs.Backend))
	}
	s := "read " + strings.Join(names, ", ")
	if len(v.missing) > 0 {
		s += "; not installed: " + strings.Join(v.missing, ", ")
	}
	return s
}

// digest summarises what a view printed: how many rules in how many chains and, when netcert
// cannot read parts of some, how many and the first of them.
func digest(rs *netfilter.Ruleset) string {
	const shown, width = 3, 100
	rules, opaque := 0, 0
	var first []string
	for _, c := range rs.Chains {
		rules += len(c.Rules)
		for _, r := range c.Rules {
			if len(r.Opaque) == 0 {
				continue
			}
			if opaque++; opaque <= shown {
				part := strings.Join(r.Opaque, "; ")
				if len(part) > width {
					part = strings.ToValidUTF8(part[:width], "") + "…"
				}
				first = append(first, fmt.Sprintf("%s %s: %s", r.Where(), rulePosition(r), part))
			}
		}
	}
	s := fmt.Sprintf("%d rules in %d chains", rules, len(rs.Chains))
	if opaque > 0 {
		s += fmt.Sprintf("; %d with parts netcert does not read (%s", opaque, strings.Join(first, "; "))
		if opaque > shown {
			s += "; …"
		}
		s += ")"
	}
	return s
}
