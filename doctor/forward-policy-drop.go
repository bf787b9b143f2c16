package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// ForwardPolicyDrop is the check and repair for forward-policy-drop: a base chain on a node's
// forward hook drops by its policy (or by a final DROP or REJECT that matches everything) and
// nothing in it accepts the pods' traffic first. Every base chain on the hook sees every routed
// packet, and an accept in one does not get a packet past a drop in another: the CNI's and
// kube-proxy's accepts in iptables-nft's filter FORWARD do nothing against a hardening script's
// `iptables-legacy -P FORWARD DROP` or a firewall's native nft table. The repair inserts ACCEPTs
// for the pod network at the top of each such chain; the chain's policy and rules stay.
type ForwardPolicyDrop struct{}

// forwardRepairComment tags the ACCEPT rules the repair inserts.
const forwardRepairComment = "netcert: pod network"

// ID returns "forward-policy-drop".
func (ForwardPolicyDrop) ID() string { return "forward-policy-drop" }

// podTraffic is what the pods' packets look like at the forward hook: the pod network's IPv4
// ranges (the views netcert reads are IPv4) and the CNI's pod interfaces.
type podTraffic struct {
	cidrs  []netip.Prefix
	ifaces string // as findings name them
	ev     []Evidence
}

// readPodTraffic reads the pod network: the nodes' podCIDRs and the CNI's network (Flannel's
// Network, Calico's IPPools), each range inside another left out.
func readPodTraffic(ctx context.Context, c *Cluster) (*podTraffic, error) {
	api, err := readAPIRanges(ctx, c)
	if err != nil {
		return nil, err
	}
	pt := &podTraffic{ifaces: map[string]string{"flannel": "cni0, flannel.1", "calico": "cali+, vxlan.calico, tunl0"}[c.CNI]}
	if pt.ifaces == "" {
		pt.ifaces = "cni0, flannel.1, cali+, vxlan.calico, tunl0"
	}
	ranges := api.podRanges()
	slices.SortStableFunc(ranges, func(a, b ipRange) int { return a.Prefix.Bits() - b.Prefix.Bits() })
	for _, r := range ranges {
		if !r.Prefix.Addr().Is4() || slices.ContainsFunc(pt.cidrs, func(p netip.Prefix) bool { return p.Overlaps(r.Prefix) }) {
			continue
		}
		pt.cidrs = append(pt.cidrs, r.Prefix)
		if !slices.ContainsFunc(pt.ev, func(e Evidence) bool { return e.Source == r.Evidence.Source }) {
			pt.ev = append(pt.ev, r.Evidence)
		}
	}
	if len(pt.cidrs) == 0 {
		pt.ev = api.Evidence
	}
	return pt, nil
}

// network names the pod network's ranges: "10.244.0.0/16".
func (pt *podTraffic) network() string {
	if len(pt.cidrs) == 0 {
		return "the pod network (no range known)"
	}
	var s []string
	for _, p := range pt.cidrs {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// holds reports whether an address match names the pod network: a range that overlaps it, or a
// set or address range netcert does not list (it may hold the pods).
func (pt *podTraffic) holds(m netfilter.AddrMatch) bool {
	if m.Negate {
		return false
	}
	if m.Set != "" {
		return true
	}
	for _, p := range pt.cidrs {
		if m.Holds(p.Addr()) || slices.ContainsFunc(m.Prefixes, p.Overlaps) {
			return true
		}
	}
	return false
}

// podIface reports whether an interface match ("cali+", "cali*", "cni0") names pod interfaces.
func podIface(name string) bool {
	base := strings.TrimRight(name, "+*")
	return base != "" && (cniOwned(base) || (base != name && cniOwned(base+"0")))
}

// matchesPodIface reports whether the rule matches packets coming from or going to pod interfaces.
func matchesPodIface(r *netfilter.Rule) bool {
	return (podIface(r.InIface) && !r.InNeg) || (podIface(r.OutIface) && !r.OutNeg)
}

// forwardChain is a base chain on the forward hook that drops by its policy or by a rule that
// matches every packet.
type forwardChain struct {
	backend netfilter.Backend
	chain   *netfilter.Chain
	drop    *netfilter.Rule // its DROP policy, or the rule that drops every packet
	// accepted: a rule before the drop accepts the pods' traffic (the chain is compensated).
	accepted bool
}

// where names the chain in its view: "filter FORWARD", "inet fw forward".
func (fc forwardChain) where() string {
	c := fc.chain
	if fc.backend == netfilter.Native {
		return c.Family + " " + c.Table + " " + c.Name
	}
	return c.Table + " " + c.Name
}

// forwardEnd is what walking a chain's rules in order, along jumps that match every packet, found.
type forwardEnd struct {
	accepted bool            // a rule accepts pod traffic before the end (anywhere, when none)
	ends     bool            // a verdict that matches every packet ends the hook's evaluation
	drop     *netfilter.Rule // that verdict, when it drops or rejects
}

// chainState is a chain reached through jumps that did (pods) or did not match pod traffic.
type chainState struct {
	chain *netfilter.Chain
	pods  bool
}

// forwardWalk follows the jumps of one view; the kernel refuses loops, so a cycle (in input the
// kernel did not load) only has to end.
type forwardWalk struct {
	rs        *netfilter.Ruleset
	pt        *podTraffic
	runs      map[chainState]forwardEnd
	accepts   map[chainState]bool
	ifaceRefs map[*netfilter.Chain]bool
}

// forwardChains returns the base chains on the forward hook (families ip and inet) of every view
// that drop by their policy or by a rule matching every packet.
func forwardChains(v *nodeViews, pt *podTraffic) []forwardChain {
	var out []forwardChain
	for _, rs := range v.sets {
		w := &forwardWalk{rs: rs, pt: pt, runs: map[chainState]forwardEnd{}, accepts: map[chainState]bool{}, ifaceRefs: map[*netfilter.Chain]bool{}}
		for _, c := range rs.Chains {
			if c.Hook != "forward" || (c.Family != "ip" && c.Family != "inet") {
				continue
			}
			end := w.run(c, false)
			fc := forwardChain{backend: rs.Backend, chain: c, drop: end.drop, accepted: end.accepted}
			if !end.ends && c.Policy == "DROP" {
				rules := c.WithPolicy(rs.Backend)
				fc.drop = rules[len(rules)-1]
			}
			if fc.drop != nil {
				out = append(out, fc)
			}
		}
	}
	return out
}

// run walks c's rules in order: a rule that matches every packet and jumps is followed in
// order; a conditional jump counts only for the pod accepts it leads to. pods: the way into c
// matched pod traffic.
func (w *forwardWalk) run(c *netfilter.Chain, pods bool) forwardEnd {
	k := chainState{c, pods}
	if end, seen := w.runs[k]; seen {
		return end
	}
	w.runs[k] = forwardEnd{}
	var out forwardEnd
walk:
	for _, r := range c.Rules {
		all, p := r.Unconditional(), pods || w.matchesPods(c, r)
		switch {
		case r.Verdict == "ACCEPT":
			out.accepted = out.accepted || p || all
			if all {
				out.ends = true
				break walk
			}
		case r.Drops() && all:
			out.ends, out.drop = true, r
			break walk
		case r.Verdict == "RETURN" && all:
			break walk
		}
		ended := false
		w.rs.EachJump(c, r, func(t *netfilter.Chain) {
			switch {
			case ended:
			case !all:
				out.accepted = out.accepted || w.acceptsPods(t, p)
			default:
				sub := w.run(t, p)
				out.accepted = out.accepted || sub.accepted
				ended, out.ends, out.drop = sub.ends, sub.ends, sub.drop
			}
		})
		if ended || (all && r.Verdict == "GOTO") {
			break
		}
	}
	w.runs[k] = out
	return out
}

// acceptsPods reports whether a rule of c, or of a chain it leads to, accepts pod traffic.
func (w *forwardWalk) acceptsPods(c *netfilter.Chain, pods bool) bool {
	k := chainState{c, pods}
	if found, seen := w.accepts[k]; seen {
		return found
	}
	w.accepts[k] = false
	found := false
	for _, r := range c.Rules {
		p := pods || w.matchesPods(c, r)
		found = r.Verdict == "ACCEPT" && p
		w.rs.EachJump(c, r, func(t *netfilter.Chain) { found = found || w.acceptsPods(t, p) })
		if found {
			break
		}
	}
	w.accepts[k] = found
	return found
}

// matchesPods reports whether r, a rule of c, matches pod traffic: addresses of the pod network,
// a pod interface, or (Calico's way) an ACCEPT of a mark in a chain that jumps to chains that
// match pod interfaces, which set that mark.
func (w *forwardWalk) matchesPods(c *netfilter.Chain, r *netfilter.Rule) bool {
	switch {
	case w.pt.holds(r.Src) || w.pt.holds(r.Dst):
		return true
	case matchesPodIface(r):
		return true
	case r.Verdict != "ACCEPT" || !r.MatchesMark():
		return false
	}
	return slices.ContainsFunc(c.Rules, func(x *netfilter.Rule) bool {
		found := false
		w.rs.EachJump(c, x, func(t *netfilter.Chain) { found = found || w.matchesPodIfaces(t) })
		return found
	})
}

// matchesPodIfaces reports whether a rule of c, or of a chain it leads to, matches a pod interface.
func (w *forwardWalk) matchesPodIfaces(c *netfilter.Chain) bool {
	if found, seen := w.ifaceRefs[c]; seen {
		return found
	}
	w.ifaceRefs[c] = false
	found := false
	for _, r := range c.Rules {
		found = matchesPodIface(r)
		w.rs.EachJump(c, r, func(t *netfilter.Chain) { found = found || w.matchesPodIfaces(t) })
		if found {
			break
		}
	}
	w.ifaceRefs[c] = found
	return found
}

// forwardNode is what the check read of one node.
type forwardNode struct {
	finding Finding
	chains  []forwardChain
}

// blocked returns the chains that drop the pods' traffic.
func (fn *forwardNode) blocked() []forwardChain {
	var out []forwardChain
	for _, fc := range fn.chains {
		if !fc.accepted {
			out = append(out, fc)
		}
	}
	return out
}

// inspect reads n's netfilter views and judges its forward base chains.
func (p ForwardPolicyDrop) inspect(ctx context.Context, n node.Node, pt *podTraffic) (*forwardNode, error) {
	v, err := readNodeViews(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	fn := &forwardNode{chains: forwardChains(v, pt)}
	f := Finding{Check: p.ID(), Node: n.Name(), Status: Pass, Evidence: slices.Clone(pt.ev)}
	var failed, guarded []string
	for _, fc := range fn.chains {
		label := ruleLabel(fc.drop)
		if fc.drop.Chain != fc.chain.Name {
			label += " (reached from " + fc.where() + ")"
		}
		if fc.accepted {
			guarded = append(guarded, label)
			continue
		}
		verb := map[string]string{"DROP": "drops", "REJECT": "rejects"}[fc.drop.Verdict]
		failed = append(failed, fmt.Sprintf("%s %s the pods' routed traffic: no rule before it accepts %s or the pod interfaces (%s)",
			label, verb, pt.network(), pt.ifaces))
		f.Evidence = append(f.Evidence, Evidence{Source: v.evidence[fc.backend].Source, Output: chainListing(fc)})
	}
	switch {
	case len(failed) > 0:
		f.Status = Fail
		f.Summary = strings.Join(failed, "; ") + "; every base chain on the hook applies: an accept in another one does not get a packet past it"
	default:
		f.Summary = "every base chain on the forward hook lets the pods' traffic through (" + v.read() + ")"
		if len(guarded) > 0 {
			f.Summary += fmt.Sprintf("; %d drop what no rule accepts, after accepting the pods' traffic: %s", len(guarded), strings.Join(guarded, "; "))
		}
		for _, view := range nfViews {
			f.Evidence = append(f.Evidence, v.evidence[view.backend])
		}
	}
	fn.finding = f
	return fn, nil
}

// chainListing shows a base chain as netcert read it: its hook and policy, then its rules.
func chainListing(fc forwardChain) string {
	c, policy := fc.chain, "ACCEPT"
	if c.Policy != "" {
		policy = c.Policy
	}
	if c.PolicyCounted {
		policy += fmt.Sprintf(", %d packets", c.PolicyPackets)
	}
	lines := []string{fmt.Sprintf("%s %s (hook %s, policy %s)", fc.backend, fc.where(), c.Hook, policy)}
	for _, r := range c.Rules {
		lines = append(lines, rulePosition(r)+" "+r.Text)
	}
	return strings.Join(lines, "\n")
}

// inspectNodes inspects every node at once; the results keep the nodes' order, and the first
// node's error in that order wins.
func (p ForwardPolicyDrop) inspectNodes(ctx context.Context, nodes []node.Node, pt *podTraffic) ([]*forwardNode, error) {
	out := make([]*forwardNode, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { out[i], errs[i] = p.inspect(ctx, n, pt) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Run reads the pod network from the API and every node's netfilter views, and returns a Fail
// per node with a forward base chain that drops the pods' traffic, a Pass per other node.
func (p ForwardPolicyDrop) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	pt, err := readPodTraffic(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	nodes, err := p.inspectNodes(ctx, c.Nodes, pt)
	if err != nil {
		return nil, err
	}
	out := make([]Finding, len(nodes))
	for i, fn := range nodes {
		out[i] = fn.finding
	}
	return out, nil
}
