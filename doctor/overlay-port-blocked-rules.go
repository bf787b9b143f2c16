package doctor

import (
	"slices"
	"strings"

	"github.com/netcert/netcert/doctor/internal/netfilter"
)

// blocks reports whether the rule drops or rejects UDP to port by an explicit port match.
func blocks(r *netfilter.Rule, port int) bool {
	return r.Drops() && r.MatchesUDPPort(port)
}

// mayDropUDPPort reports whether the rule discards packets and nothing netcert reads of it rules
// out UDP to port: any shape (no port, an address or set match, an interface, a policy) may be
// what drops the overlay; the kernel's counters decide whether it does.
func mayDropUDPPort(r *netfilter.Rule, port int) bool { return r.Drops() && r.AdmitsUDPPort(port) }

// fromPods reports whether the rule matches only packets that come in on pods' interfaces
// (cali*, veth*, …): overlay packets between nodes come in on the node's own interface, so such a
// rule never sees them (Calico drops VXLAN sent from workloads this way).
func fromPods(r *netfilter.Rule) bool {
	return r.InIface != "" && !r.InNeg && cniOwned(strings.TrimRight(r.InIface, "+*")+"0")
}

// allowList reports whether the rule accepts UDP to port from (or to) listed addresses only: a
// DROP after it in its chain drops what the list leaves out (Calico's VXLAN allow-list, a
// netcert repair).
func allowList(r *netfilter.Rule, port int) bool {
	return r.Verdict == "ACCEPT" && r.MatchesUDPPort(port) && (r.Src.Restricts() || r.Dst.Restricts())
}

// hasComment reports whether one of the rule's comments is c.
func hasComment(r *netfilter.Rule, c string) bool {
	return slices.Contains(r.Comments, c)
}

// podOnlyChains returns the chains that packets reach only through jumps that match pods'
// interfaces (Calico's per-workload chains): rules there never see overlay traffic.
func podOnlyChains(rs *netfilter.Ruleset) map[*netfilter.Chain]bool {
	open := map[*netfilter.Chain]bool{} // reached without a pod-interface match on the way
	var walk func(c *netfilter.Chain)
	walk = func(c *netfilter.Chain) {
		if open[c] {
			return
		}
		open[c] = true
		for _, r := range c.Rules {
			if !fromPods(r) {
				rs.EachJump(c, r, walk)
			}
		}
	}
	reached := map[*netfilter.Chain]bool{}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			rs.EachJump(c, r, func(t *netfilter.Chain) { reached[t] = true })
		}
	}
	for _, c := range rs.Chains {
		if c.Hook != "" || !reached[c] { // base chains, and chains nothing jumps to, count as open
			walk(c)
		}
	}
	out := map[*netfilter.Chain]bool{}
	for _, c := range rs.Chains {
		if !open[c] {
			out[c] = true
		}
	}
	return out
}
