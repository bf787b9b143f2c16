package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// overlayPeer is another node of the cluster, by its InternalIP.
type overlayPeer struct {
	Name string
	Addr netip.Addr
}

// overlayPeers returns, for every node of the API, the IPv4 InternalIPs of the other nodes.
func overlayPeers(ctx context.Context, c *Cluster) (map[string][]overlayPeer, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("no Kubernetes client to read the nodes' InternalIPs")
	}
	list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var all []overlayPeer
	for _, n := range list.Items {
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == corev1.NodeInternalIP && ip.Is4() {
				all = append(all, overlayPeer{n.Name, ip})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Addr.Less(all[j].Addr) })
	out := map[string][]overlayPeer{}
	for _, n := range list.Items {
		for _, p := range all {
			if p.Name != n.Name {
				out[n.Name] = append(out[n.Name], p)
			}
		}
	}
	return out, nil
}

// overlayGuard is one ACCEPT rule the repair inserts before a blocking rule: its command, and
// the peers it lets through, as source ("in") or destination ("out").
type overlayGuard struct {
	argv  []string
	dir   string
	peers []overlayPeer
}

// isOverlayGuard reports whether r is an ACCEPT for UDP to port tagged by the repair.
func isOverlayGuard(r *netfilter.Rule, port int) bool {
	return r.Verdict == "ACCEPT" && hasComment(r, overlayRepairComment) && r.MatchesUDPPort(port)
}

// guardsFor returns the ACCEPT rules that let the peers' overlay traffic past r, inserted into
// r's chain directly before it: iptables rules (one per peer) at r's position, or before the
// repair's own ACCEPTs right above it; an nft rule (all peers in one set) before r's handle.
// Chains on output hooks match the peers as destinations, all others as sources.
func guardsFor(v *nodeViews, r *netfilter.Rule, peers []overlayPeer, port int) []overlayGuard {
	rs := v.ruleset(r.Backend)
	ch := rs.Chain(r.Family, r.Table, r.Chain)
	dirs := rs.ChainDirections()[ch]
	pos := r.Index
	for pos > 1 && isOverlayGuard(ch.Rules[pos-2], port) {
		pos--
	}
	var out []overlayGuard
	for _, dir := range []string{"in", "out"} {
		if !dirs[dir] {
			continue
		}
		if r.Backend == netfilter.Native {
			field := map[string]string{"in": "saddr", "out": "daddr"}[dir]
			var addrs []string
			for _, p := range peers {
				addrs = append(addrs, p.Addr.String())
			}
			where := []string{"nft", "insert", "rule", r.Family, r.Table, r.Chain, "handle", strconv.Itoa(r.Handle)}
			if r.Policy { // after the chain's last rule, where the policy applies
				where = []string{"nft", "add", "rule", r.Family, r.Table, r.Chain}
			}
			out = append(out, overlayGuard{dir: dir, peers: peers, argv: append(where, "ip", field, "{ "+strings.Join(addrs, ", ")+" }",
				"udp", "dport", strconv.Itoa(port), "accept", "comment", strconv.Quote(overlayRepairComment))})
			continue
		}
		flag := map[string]string{"in": "-s", "out": "-d"}[dir]
		for _, p := range peers {
			out = append(out, overlayGuard{dir: dir, peers: []overlayPeer{p}, argv: []string{string(r.Backend), "-w",
				"-t", r.Table, "-I", r.Chain, strconv.Itoa(pos), flag, p.Addr.String() + "/32", "-p", "udp", "-m", "udp",
				"--dport", strconv.Itoa(port), "-m", "comment", "--comment", overlayRepairComment, "-j", "ACCEPT"}})
		}
	}
	return out
}

// present reports whether repair ACCEPTs before r in its chain already let every peer of g through.
func (g overlayGuard) present(v *nodeViews, r *netfilter.Rule, port int) bool {
	ch := v.ruleset(r.Backend).Chain(r.Family, r.Table, r.Chain)
	for _, p := range g.peers {
		found := false
		for _, x := range ch.Rules[:r.Index-1] {
			m := x.Src
			if g.dir == "out" {
				m = x.Dst
			}
			found = found || (isOverlayGuard(x, port) && m.Holds(p.Addr))
		}
		if !found {
			return false
		}
	}
	return true
}

// Plan probes and reads the cluster again and, on each node with a Fail finding, plans for each
// rule blocking the overlay there the ACCEPT rules that let the other nodes' overlay traffic
// (their InternalIPs, from the API) past it, each inserted in the same view, table and chain,
// directly before it. A rule later in a chain where an earlier one is planned is passed by the
// same ACCEPTs.
func (p OverlayPortBlocked) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	fix := map[string]bool{}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		fix[f.Node] = true
	}
	if len(fix) > 0 {
		st, err := p.evaluate(ctx, c)
		if err != nil {
			return plan, err
		}
		peers, err := overlayPeers(ctx, c)
		if err != nil {
			return plan, fmt.Errorf("%s: %w", p.ID(), err)
		}
		for _, n := range c.Nodes {
			if !fix[n.Name()] {
				continue
			}
			if len(peers[n.Name()]) == 0 {
				return plan, fmt.Errorf("%s: no other node with an IPv4 InternalIP to let through on %s", p.ID(), n.Name())
			}
			var planned []*netfilter.Rule
			for _, r := range st.blocking(n.Name()) {
				if slices.ContainsFunc(planned, func(x *netfilter.Rule) bool {
					return x.Backend == r.Backend && x.Where() == r.Where() && x.Index < r.Index
				}) {
					continue
				}
				planned = append(planned, r.Rule)
				plan.Actions = append(plan.Actions, guardAction(n.Name(), st.views[n.Name()], r, peers[n.Name()], st.port))
			}
		}
	}
	return plan, nil
}

// guardAction is the action that inserts the guards of one blocking rule.
func guardAction(nodeName string, v *nodeViews, r *overlayRule, peers []overlayPeer, port int) Action {
	a := Action{Node: nodeName, Object: ruleRef(r.Rule)}
	var who []string
	for _, p := range peers {
		who = append(who, p.Name+" "+p.Addr.String())
	}
	dirs := map[string]bool{}
	for _, g := range guardsFor(v, r.Rule, peers, port) {
		a.Argv = append(a.Argv, g.argv)
		dirs[g.dir] = true
	}
	way := map[bool]string{true: "from", false: "to"}[dirs["in"]]
	if dirs["in"] && dirs["out"] {
		way = "from and to"
	}
	state := ""
	if s := r.state(); s != "" {
		state = " (" + s + ")"
	}
	a.Summary = fmt.Sprintf("insert %d ACCEPT rule(s) for udp/%d %s the other nodes (%s) in %s %s, directly before the rule `%s`%s; that foreign rule is left in place",
		len(a.Argv), port, way, strings.Join(who, ", "), r.Backend, r.Where(), r.Text, state)
	return a
}

// Apply inserts each action's missing ACCEPT rules — an ACCEPT already in place is not added
// again — then probes the pairs of every node it touched and fails while any still fails. It
// refuses to run a command the plan does not list (the chain or the nodes changed since).
func (p OverlayPortBlocked) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	rec := Record{Check: plan.Check}
	if err := refuseManual(plan); err != nil {
		return rec, err
	}
	if len(plan.Actions) == 0 {
		return rec, nil
	}
	if c.Probe == nil {
		return rec, fmt.Errorf("%s: needs live probes to verify the repair: the cluster has no prober", p.ID())
	}
	port, _, err := overlayPort(ctx, c)
	if err != nil {
		return rec, fmt.Errorf("%s: %w", p.ID(), err)
	}
	if port == 0 {
		return rec, fmt.Errorf("%s: the cluster no longer uses an overlay: plan again", p.ID())
	}
	peers, err := overlayPeers(ctx, c)
	if err != nil {
		return rec, fmt.Errorf("%s: %w", p.ID(), err)
	}
	var touched []string
	last := map[string]int{} // node -> its last step
	for _, a := range plan.Actions {
		n, err := c.nodeByName(a.Node)
		if err != nil {
			return rec, err
		}
		step, err := p.applyAction(ctx, n, a, peers[a.Node], port)
		rec.Steps = append(rec.Steps, step)
		if err != nil {
			return rec, err
		}
		if _, ok := last[a.Node]; !ok {
			touched = append(touched, a.Node)
		}
		last[a.Node] = len(rec.Steps) - 1
	}
	for _, name := range touched {
		probes, err := probePairs(ctx, c, name)
		if err != nil {
			return rec, fmt.Errorf("%s: %w", p.ID(), err)
		}
		var failed []probeResult
		for _, pr := range probes {
			rec.Steps[last[name]].Evidence = append(rec.Steps[last[name]].Evidence, pr.ev)
			if !pr.ok {
				failed = append(failed, pr)
			}
		}
		if len(failed) > 0 {
			return rec, fmt.Errorf("%s on %s: pod traffic %s still fails after the repair: run the check again, a rule the first one hid may drop it now",
				p.ID(), name, probeList(failed))
		}
		c.log().Info("repaired", "check", p.ID(), "node", name)
	}
	return rec, nil
}

// applyAction re-reads the node, finds the action's rule and runs the planned commands whose
// ACCEPT is not in place yet, then re-reads the node to verify they are.
func (p OverlayPortBlocked) applyAction(ctx context.Context, n node.Node, a Action, peers []overlayPeer, port int) (Step, error) {
	step := Step{Action: a}
	v, err := readNodeViews(ctx, n)
	if err != nil {
		return step, fmt.Errorf("%s: %w", p.ID(), err)
	}
	r := rulesByRef(v)[a.Object]
	if r == nil || !mayDropUDPPort(r, port) {
		step.Evidence = append(step.Evidence, Evidence{Source: node.CommandLine(n, nfViewArgv(a.Object)), Output: "the rule is gone: nothing to do"})
		return step, nil
	}
	var missing []overlayGuard
	for _, g := range guardsFor(v, r, peers, port) {
		if g.present(v, r, port) {
			continue
		}
		if !slices.ContainsFunc(a.Argv, func(x []string) bool { return sameGuard(x, g.argv) }) {
			return step, fmt.Errorf("%s on %s: %s or the nodes changed since the plan (it would now run %s): plan again",
				p.ID(), n.Name(), r.Where(), strings.Join(g.argv, " "))
		}
		missing = append(missing, g)
	}
	for _, g := range missing {
		_, ev, err := run(ctx, n, g.argv...)
		step.Changed = true
		step.Evidence = append(step.Evidence, ev)
		if err != nil {
			return step, fmt.Errorf("%s on %s: %w", p.ID(), n.Name(), err)
		}
	}
	if !step.Changed {
		return step, nil
	}
	if v, err = readNodeViews(ctx, n); err != nil {
		return step, fmt.Errorf("%s: %w", p.ID(), err)
	}
	if r = rulesByRef(v)[a.Object]; r != nil {
		for _, g := range guardsFor(v, r, peers, port) {
			if !g.present(v, r, port) {
				return step, fmt.Errorf("%s on %s: the ACCEPT of %s is not before %s after the repair", p.ID(), n.Name(), strings.Join(g.argv, " "), ruleRef(r))
			}
		}
		step.Evidence = append(step.Evidence, v.evidence[r.Backend])
	}
	return step, nil
}

// sameGuard reports whether two guard commands insert the same rule: an iptables insert position
// may differ (Calico's Felix keeps moving its own jump back to the top of the chains it shares),
// the rule itself may not.
func sameGuard(a, b []string) bool {
	i := slices.Index(a, "-I")
	if i < 0 || i+2 >= len(a) || len(a) != len(b) {
		return slices.Equal(a, b)
	}
	return slices.Equal(a[:i+2], b[:i+2]) && slices.Equal(a[i+3:], b[i+3:])
}

// nfViewArgv returns the command of the view a rule ref names.
func nfViewArgv(ref string) []string {
	backend, _, _ := strings.Cut(ref, " ")
	for _, view := range nfViews {
		if string(view.backend) == backend {
			return view.argv
		}
	}
	return []string{backend}
}
