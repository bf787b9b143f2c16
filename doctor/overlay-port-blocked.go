package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// OverlayPortBlocked is the check and repair for overlay-port-blocked: a netfilter rule on a node
// drops or rejects the CNI's overlay traffic (Flannel's VXLAN on UDP 8472, Calico's on 4789), so
// pods on different nodes cannot reach each other. The check sends pod-to-pod traffic between
// every ordered pair of nodes, reads every node's three netfilter views (iptables-legacy,
// iptables-nft, native nft) for rules that drop or reject UDP to the overlay port, and confirms
// a rule when its packet counter rose while the probes ran, beyond its rate in the idle moment
// after them. The repair
// inserts narrow ACCEPT rules for the other nodes directly before each such rule; it never
// deletes the foreign rule nor flushes a chain.
type OverlayPortBlocked struct{}

// overlayRepairComment tags the ACCEPT rules the repair inserts.
const overlayRepairComment = "netcert-repair overlay-port-blocked"

// ID returns "overlay-port-blocked".
func (OverlayPortBlocked) ID() string { return "overlay-port-blocked" }

// overlayPort reads from the cluster the UDP port of its overlay, with the evidence: Flannel's
// VXLAN backend (net-conf.json Backend.Port, 8472 by default), or Calico's VXLAN when an enabled
// IPPool uses it (FelixConfiguration vxlanPort, 4789 by default). Port 0: the cluster carries no
// overlay (Flannel host-gw, Calico without VXLAN), the evidence says why.
func overlayPort(ctx context.Context, c *Cluster) (int, []Evidence, error) {
	switch c.CNI {
	case "flannel":
		conf, ev, err := readFlannelConfig(ctx, c)
		if err != nil || !strings.EqualFold(conf.Backend.Type, "vxlan") {
			return 0, []Evidence{ev}, err
		}
		if conf.Backend.Port != 0 {
			return conf.Backend.Port, []Evidence{ev}, nil
		}
		return flannelVXLANPort, []Evidence{ev}, nil
	case "calico":
		pools, ev, err := readIPPools(ctx, c)
		if err != nil {
			return 0, []Evidence{ev}, err
		}
		vxlan := slices.ContainsFunc(pools, func(p ipPool) bool { return p.vxlan() && !p.Disabled })
		if !vxlan {
			return 0, []Evidence{ev}, nil
		}
		port, felix, err := calicoVXLANPort(ctx, c)
		return port, []Evidence{ev, felix}, err
	}
	return 0, nil, fmt.Errorf("no overlay known for CNI %q: netcert knows flannel and calico", c.CNI)
}

// overlayRule is a rule or chain policy that may drop the overlay's packets, with what the
// kernel's counters showed of it.
type overlayRule struct {
	*netfilter.Rule
	explicit    bool // it names the overlay port (a port match): suspect even when no counter moves
	allowListed bool // an ACCEPT allow-list for the port comes before it in its chain
	probed      bool // its counter was read around the round of probes
	idleRead    bool // and after an idle window
	// idle and probedDelta are the packets it counted while nothing was probed and while the
	// pairs were probed.
	idle, probedDelta uint64
	risen             bool // it counted the probes: probedDelta exceeds idle by the probes' packets
}

func (o *overlayRule) confirmed() bool { return o.risen }

// blockingRules returns the rules and DROP policies of the views that may drop UDP to port: those
// that name the port, and those of any other shape (no port, an address or set match, a chain's
// policy) whose matches netcert reads do not rule it out. Rules only pods' own traffic reaches
// (per-workload chains, chains of the forward hook alone) are left out: a drop there is not of
// the overlay's packets, and traffic-path-broken names it.
func blockingRules(v *nodeViews, port int) []*overlayRule {
	var out []*overlayRule
	for _, rs := range v.sets {
		podOnly, hooks := podOnlyChains(rs), rs.ChainHooks()
		for _, c := range rs.Chains {
			if podOnly[c] || netfilter.ForwardOnly(hooks[c]) {
				continue
			}
			allow := false
			for _, r := range c.WithPolicy(rs.Backend) {
				if mayDropUDPPort(r, port) && !fromPods(r) {
					out = append(out, &overlayRule{Rule: r, explicit: blocks(r, port), allowListed: allow})
				}
				allow = allow || allowList(r, port)
			}
		}
	}
	return out
}

// overlayState is what the check saw: the port, the probes, and each node's views and rules.
type overlayState struct {
	port   int
	portEv []Evidence
	probes []probeResult
	views  map[string]*nodeViews
	rules  map[string][]*overlayRule
}

// failing returns the failed probes, those involving node when it is not "".
func (st *overlayState) failing(nodeName string) []probeResult {
	var out []probeResult
	for _, p := range st.probes {
		if !p.ok && (nodeName == "" || p.from == nodeName || p.to == nodeName) {
			out = append(out, p)
		}
	}
	return out
}

// evaluate reads every node's views, probes every pair, and for each node in a failing pair
// finishes a watch of its rules' counters begun by that read: what they counted while the pairs
// were probed against an idle window right after.
func (p OverlayPortBlocked) evaluate(ctx context.Context, c *Cluster) (*overlayState, error) {
	port, portEv, err := overlayPort(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	if port == 0 {
		return &overlayState{portEv: portEv}, nil
	}
	if c.Probe == nil {
		return nil, fmt.Errorf("%s: needs live probes: the cluster has no prober", p.ID())
	}
	st := &overlayState{port: port, portEv: portEv, views: map[string]*nodeViews{}, rules: map[string][]*overlayRule{}}
	views, err := eachNode(ctx, c.Nodes, readNodeViews)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	watch := dropWatchFrom(c.Nodes, views)
	for i, n := range c.Nodes {
		st.views[n.Name()], st.rules[n.Name()] = views[i], blockingRules(views[i], port)
	}
	if st.probes, err = probePairs(ctx, c, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	var suspects []node.Node
	for _, n := range c.Nodes {
		counted := slices.ContainsFunc(st.rules[n.Name()], func(r *overlayRule) bool { return r.Counted })
		if counted && len(st.failing(n.Name())) > 0 {
			suspects = append(suspects, n)
		}
	}
	if len(suspects) > 0 {
		if err := p.confirm(ctx, watch, suspects, st); err != nil {
			return nil, fmt.Errorf("%s: %w", p.ID(), err)
		}
	}
	return st, nil
}

// confirmPackets is how many packets a rule must count beyond its idle rate, per quarter of its
// node's failing probes, to be confirmed: each probe sends several datagrams, and a rule that
// names one peer sees only that peer's share.
const confirmPackets = 2

// confirm reads the suspect nodes' counters after the probes: a rule is confirmed when it counted,
// while the pairs were probed, confirmPackets per quarter of its node's failing probes. A rule
// that names the overlay port drops overlay packets whatever else it counts; for one of another
// shape that counted them (an address, a set, a policy), the counters are read again after an idle
// window, and it must count that much more than its idle rate accounts for.
func (p OverlayPortBlocked) confirm(ctx context.Context, watch *dropWatch, nodes []node.Node, st *overlayState) error {
	counts, err := watch.probed(ctx, nodes)
	if err != nil {
		return err
	}
	need := func(name string) uint64 { return uint64(confirmPackets * max(1, len(st.failing(name))/4)) }
	idle := false
	for _, n := range nodes {
		if err := watch.unread[n.Name()]; err != nil {
			return err
		}
		for _, r := range st.rules[n.Name()] {
			d, ok := counts[n.Name()][ruleRef(r.Rule)]
			idle = idle || (ok && !r.explicit && d.rose(need(n.Name())))
		}
	}
	if idle {
		if err := watch.idle(ctx, nodes, counts); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		if err := watch.unread[n.Name()]; err != nil {
			return err
		}
		for _, r := range st.rules[n.Name()] {
			if d, ok := counts[n.Name()][ruleRef(r.Rule)]; ok && r.Counted {
				r.probed, r.idleRead, r.idle, r.probedDelta, r.risen = true, d.idleRead, d.idle, d.probed, d.rose(need(n.Name()))
			}
		}
	}
	return nil
}

// blocking returns the rules the repair must get around on a node: the confirmed ones or, when
// none is confirmed but the node's pairs fail, those naming the port without a counter that no
// allow-list guards (they cannot be confirmed, and nothing else explains the failure there).
func (st *overlayState) blocking(nodeName string) []*overlayRule {
	var confirmed, uncounted []*overlayRule
	for _, r := range st.rules[nodeName] {
		switch {
		case r.confirmed():
			confirmed = append(confirmed, r)
		case !r.Counted && !r.allowListed && r.explicit:
			uncounted = append(uncounted, r)
		}
	}
	if len(confirmed) > 0 || len(st.failing(nodeName)) == 0 {
		return confirmed
	}
	return uncounted
}

// Run probes pod traffic between every pair of nodes and looks for the netfilter rules that drop
// the overlay port. It returns a Fail per node with a confirmed rule (or, when the node's pairs
// fail and none is confirmed, a rule without a counter); a Warn per node with such rules that the
// probes do not implicate; a Pass per node when no probe fails (rules behind an ACCEPT
// allow-list, like Calico's or a repaired one, are noted there); and one Warn with Node "" for
// failing pairs that no rule on their nodes explains: the overlay port is not what breaks them,
// so another check names the cause.
func (p OverlayPortBlocked) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	st, err := p.evaluate(ctx, c)
	if err != nil {
		return nil, err
	}
	return p.findings(c, st), nil
}

func (p OverlayPortBlocked) findings(c *Cluster, st *overlayState) []Finding {
	if st.port == 0 {
		return []Finding{{Check: p.ID(), Status: NotApplicable, Evidence: st.portEv,
			Summary: "the cluster's pod traffic between nodes uses no overlay (no VXLAN backend or IPPool): no overlay port to block"}}
	}
	object := fmt.Sprintf("udp/%d", st.port)
	var out []Finding
	explained := map[string]bool{}
	for _, n := range c.Nodes {
		name := n.Name()
		f := Finding{Check: p.ID(), Node: name, Object: object, Evidence: slices.Clone(st.portEv)}
		blocking := st.blocking(name)
		var latent, listed []*overlayRule
		for _, r := range st.rules[name] {
			switch {
			case containsRule(blocking, r):
			case !r.explicit: // another shape, not seen dropping: no suspect
			case r.allowListed:
				listed = append(listed, r)
			default:
				latent = append(latent, r)
			}
		}
		failing := st.failing(name)
		for _, pr := range failing {
			f.Evidence = append(f.Evidence, pr.ev)
		}
		for _, r := range append(append(blocking, latent...), listed...) {
			f.Evidence = append(f.Evidence, st.ruleEvidence(name, r))
		}
		switch {
		case len(blocking) > 0:
			explained[name] = true
			f.Status = Fail
			f.Summary = fmt.Sprintf("%s: pod traffic %s fails", describeRules(blocking, st.port), probeList(failing))
			if len(latent) > 0 {
				f.Summary += fmt.Sprintf(" (%d more rule(s) there drop udp/%d but were not seen dropping)", len(latent), st.port)
			}
		case len(latent) > 0:
			f.Status = Warn
			f.Summary = describeRules(latent, st.port) + ", but no pod traffic to or from " + name + " was seen failing through it"
		case len(st.failing("")) == 0:
			f.Status = Pass
			f.Summary = fmt.Sprintf("no netfilter rule drops or rejects udp/%d (%s)", st.port, st.views[name].read())
			if len(listed) > 0 {
				f.Summary += fmt.Sprintf("; %d rule(s) drop it only after an ACCEPT allow-list: %s", len(listed), describeRules(listed, st.port))
			}
			for _, view := range nfViews {
				f.Evidence = append(f.Evidence, st.views[name].evidence[view.backend])
			}
		default:
			continue
		}
		out = append(out, f)
	}
	var unexplained []probeResult
	for _, pr := range st.failing("") {
		if !explained[pr.from] && !explained[pr.to] {
			unexplained = append(unexplained, pr)
		}
	}
	if len(unexplained) > 0 {
		f := Finding{Check: p.ID(), Object: object, Status: Warn, Evidence: slices.Clone(st.portEv),
			Summary: fmt.Sprintf("pod traffic %s fails, but no netfilter rule on those nodes was seen dropping udp/%d: the overlay is broken for another reason",
				probeList(unexplained), st.port)}
		for _, pr := range unexplained {
			f.Evidence = append(f.Evidence, pr.ev)
		}
		out = append(out, f)
	}
	return out
}

func containsRule(list []*overlayRule, r *overlayRule) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// describeRules names each rule exactly and says what the kernel showed of it: "iptables-nft
// filter INPUT #1 `-A INPUT -s 172.18.0.3/32 -p udp -j DROP` drops udp/8472 (counted 6 packets
// while the probes ran, 0 while idle)".
func describeRules(rules []*overlayRule, port int) string {
	var parts []string
	for _, r := range rules {
		verb := map[string]string{"DROP": "drops", "REJECT": "rejects"}[r.Verdict]
		s := fmt.Sprintf("%s %s udp/%d", ruleLabel(r.Rule), verb, port)
		if state := r.state(); state != "" {
			s += " (" + state + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// rulePosition is where the rule sits in its chain: "#3", "handle 12", or "policy".
func rulePosition(r *netfilter.Rule) string {
	switch {
	case r.Policy:
		return "policy"
	case r.Backend == netfilter.Native:
		return fmt.Sprintf("handle %d", r.Handle)
	}
	return fmt.Sprintf("#%d", r.Index)
}

// state says what the kernel showed of the rule: its counter rising, or that it has none.
func (o *overlayRule) state() string {
	switch {
	case o.confirmed() && o.idleRead:
		return fmt.Sprintf("counted %d packets while the probes ran, %d while idle", o.probedDelta, o.idle)
	case o.confirmed():
		return fmt.Sprintf("counted %d packets while the probes ran", o.probedDelta)
	case !o.Counted:
		return "no counter: not confirmed"
	}
	return ""
}

// ruleEvidence shows a rule as its view printed it, with its counters.
func (st *overlayState) ruleEvidence(nodeName string, r *overlayRule) Evidence {
	ev := st.views[nodeName].evidence[r.Backend]
	out := r.Where() + ": " + r.Text
	switch {
	case r.probed && r.idleRead:
		out += fmt.Sprintf("\npackets +%d while %s's pairs were probed, then +%d in %s with no probe", r.probedDelta, nodeName, r.idle, dropIdleWindow)
	case r.probed:
		out += fmt.Sprintf("\npackets +%d while %s's pairs were probed", r.probedDelta, nodeName)
	case r.Counted:
		out += fmt.Sprintf("\npackets %d", r.Packets)
	default:
		out += "\nno counter"
	}
	if r.allowListed {
		out += "\nan ACCEPT allow-list for the port comes before it in its chain"
	}
	return Evidence{Source: ev.Source, Output: out}
}
