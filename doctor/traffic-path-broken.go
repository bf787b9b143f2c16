package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/traffic"
)

// TrafficPathBroken is the check for traffic-path-broken: real traffic over the core paths of
// the traffic matrix (traffic.CorePaths: container to container, pod to pod on one node and
// across every pair of nodes, pod to a ClusterIP Service, outside to a NodePort on every node)
// fails. It starts from the symptom, so no outage passes unseen even when no other check
// explains it: every failing case is a Fail, named by its path, with the nodes it crossed and the
// probe's own error; a sweep (Conclude) adds, to the ones no other finding explains, the rules
// that drop them wherever the kernel's counters show them (see locateDrops), whatever their shape. A node-level cause that another check names (ip-forward-off, an overlay
// drop, missing Service rules) marks these findings as its consequences (see Explain); one that
// nothing explains is a root cause of its own, left to a person.
type TrafficPathBroken struct{}

// ID returns "traffic-path-broken".
func (TrafficPathBroken) ID() string { return "traffic-path-broken" }

// Run sends every case of the core paths once.
func (p TrafficPathBroken) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	if c.Traffic == nil {
		return nil, fmt.Errorf("%s: needs live probes: the cluster has no traffic sender", p.ID())
	}
	if c.Client == nil {
		return nil, fmt.Errorf("%s: needs the Kubernetes API to find the probe pods", p.ID())
	}
	cases, err := traffic.Paths(ctx, c.Client, traffic.Options{External: c.Traffic.External(), ExternalAddr: c.Traffic.ExternalAddr()})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	results, err := traffic.Run(ctx, c.Traffic, cases)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	var out []Finding
	passed := map[string]int{}
	for i, tc := range cases {
		r := results[i]
		if r.OK {
			passed[tc.Path]++
			continue
		}
		f := Finding{Check: p.ID(), Node: tc.From.Node, Object: tc.Name, Status: Fail, Path: tc.Path,
			Crosses: slices.Clone(tc.Crosses), Endpoints: slices.Clone(tc.Endpoints), Evidence: []Evidence{{Source: r.Source, Output: r.Output}},
			Summary: fmt.Sprintf("%s fails: %s (crosses %s)", tc.Path, orNoReason(r.Error), strings.Join(tc.Crosses, ", ")), sent: &cases[i]}
		if tc.Service != "" {
			f.Services = []string{tc.Service}
		}
		out = append(out, f)
	}
	var counts []string
	for _, path := range traffic.CorePaths {
		if n := passed[path]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", path, n))
		}
	}
	if !c.Traffic.External() {
		out = append(out, Finding{Check: p.ID(), Object: traffic.ExternalToNodePort, Path: traffic.ExternalToNodePort, Status: NotApplicable,
			Summary: "no host outside the cluster to send from: the NodePort path is not probed"})
	}
	if len(passed) > 0 {
		out = append(out, Finding{Check: p.ID(), Status: Pass,
			Summary: "real traffic passes: " + strings.Join(counts, ", ") + " case(s)"})
	}
	return out, nil
}

func orNoReason(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// Plan lists, for the failing paths that no other check explains, what a person must look at:
// one step per rule the kernel showed dropping them (allow that traffic ahead of it, or remove it
// if nothing needs it), and one per path where no rule counted. A path with a cause is repaired
// by its cause's repair, never on its own.
func (p TrafficPathBroken) Plan(_ context.Context, _ *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	var order []string
	cases := map[string][]string{}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		if f.CausedBy != "" {
			continue
		}
		key := "no rule counted them: look along the nodes they cross for what drops them (routes, sysctls, the CNI's own state; -v shows the probes' evidence)"
		if _, at, ok := strings.Cut(f.Summary, "; dropped "); ok {
			key = "dropped " + at + ": allow that traffic ahead of the rule, or remove the rule if nothing needs it"
		}
		if _, seen := cases[key]; !seen {
			order = append(order, key)
		}
		cases[key] = append(cases[key], f.Path+" "+f.Object)
	}
	for _, key := range order {
		plan.Manual = append(plan.Manual, fmt.Sprintf("%d failing case(s) (%s) %s", len(cases[key]), strings.Join(cases[key], ", "), key))
	}
	return plan, nil
}

// Apply refuses: a broken path without a named cause needs a person.
func (p TrafficPathBroken) Apply(_ context.Context, _ *Cluster, plan Plan) (Record, error) {
	rec := Record{Check: p.ID()}
	if err := refuseManual(plan); err != nil {
		return rec, err
	}
	if len(plan.Actions) > 0 {
		return rec, fmt.Errorf("%s has no automatic repair: a broken path is repaired through its cause", p.ID())
	}
	return rec, nil
}

// Conclude explains a sweep's findings (Explain), then looks for what drops the failing traffic
// that nothing explains (locateDrops): a named cause needs no search, an unnamed one gets the
// rules the kernel's counters show. The input is not changed.
func Conclude(ctx context.Context, c *Cluster, findings []Finding) []Finding {
	all := Explain(findings)
	var failed []traffic.Case
	var located []Finding
	var at []int
	for i, f := range all {
		if f.Check != (TrafficPathBroken{}).ID() || f.Status != Fail || f.CausedBy != "" {
			continue
		}
		f.Evidence = slices.Clone(f.Evidence) // locateDrops appends to it
		if f.sent == nil || c.Traffic == nil {
			f.Evidence = append(f.Evidence, Evidence{Source: "traffic matrix",
				Output: "could not locate the drop: the finding is not from a sweep of this run (no case to send again)"})
			all[i] = f
			continue
		}
		failed, located, at = append(failed, *f.sent), append(located, f), append(at, i)
	}
	if len(failed) > 0 {
		locateDrops(ctx, c, failed, located)
		for j, i := range at {
			all[i] = located[j]
		}
	}
	return all
}

// resends is how many times in all a failed case is sent again before it is called transient:
// a path that drops some packets (a random-drop rule, a flapping link) loses one of them.
const resends = 5

// locateDrops finds where the kernel drops the failed cases: it watches the netfilter counters
// of the nodes they cross while the failed cases are sent again and over an idle window after,
// and adds to each case's finding (in order) every rule or DROP policy on its nodes that counted
// at least two packets, or a quarter of the cases through its node, more than while idle. A case
// that passes then is sent again up to resends times in all: passing every time, it is a Warn
// (transient); lost once, it stays a Fail that drops some packets. A node it cannot read leaves
// the findings as they are, with a note in their evidence.
func locateDrops(ctx context.Context, c *Cluster, failed []traffic.Case, findings []Finding) {
	through := map[string]int{}
	for _, tc := range failed {
		for _, n := range tc.Crosses {
			through[n]++
		}
	}
	var nodes []node.Node
	for _, n := range c.Nodes {
		if through[n.Name()] > 0 {
			nodes = append(nodes, n)
		}
	}
	var again []traffic.Result
	sendAgain := func(ctx context.Context) error {
		var err error
		again, err = traffic.Run(ctx, c.Traffic, failed)
		return err
	}
	var counts map[string]map[string]dropCount
	var unread map[string]error
	var err error
	if len(nodes) > 0 {
		counts, unread, err = watchDrops(ctx, nodes, sendAgain)
	}
	if again == nil { // no counters to watch, or none could be read: send them again all the same
		if sendAgain(ctx) != nil {
			again = nil
		}
	}
	lost, sends := sendUntilLost(ctx, c, failed, again)
	for i, tc := range failed {
		f := &findings[i]
		if again != nil && again[i].OK {
			if lost[i] == nil {
				// Not broken: lost once (a busy node, a probe's timeout), carried every time after.
				f.Status = Warn
				f.Summary = fmt.Sprintf("%s failed once, then passed each of the %d times it was sent again: transient, not a broken path (%s)", tc.Path, sends, f.Summary)
				f.Evidence = append(f.Evidence, Evidence{Source: again[i].Source, Output: again[i].Output})
				continue
			}
			f.Summary += fmt.Sprintf("; passed when sent again, then failed again (send %d of %d): the path drops some packets, not all", lost[i].send, resends)
			f.Evidence = append(f.Evidence, Evidence{Source: lost[i].Source, Output: lost[i].Output})
		}
		if err != nil {
			f.Evidence = append(f.Evidence, Evidence{Source: "netfilter counters of " + strings.Join(tc.Crosses, ", "),
				Output: "could not locate the drop: " + err.Error()})
			continue
		}
		var at []string
		for _, name := range tc.Crosses {
			if e := unread[name]; e != nil {
				f.Evidence = append(f.Evidence, Evidence{Source: "netfilter counters of " + name, Output: "not read: " + e.Error()})
			}
			var refs []string
			for ref, d := range counts[name] {
				if d.rose(uint64(max(2, through[name]/4))) {
					refs = append(refs, ref)
				}
			}
			slices.Sort(refs)
			for _, ref := range refs {
				d := counts[name][ref]
				at = append(at, fmt.Sprintf("on %s by %s", name, ruleLabel(d.rule)))
				f.Evidence = append(f.Evidence, Evidence{Source: fmt.Sprintf("%s netfilter counters, %s", name, ruleRef(d.rule)),
					Output: fmt.Sprintf("packets +%d while the %d failing case(s) were sent again, then +%d in %s with nothing sent (located by packet counters, no packet trace)",
						d.probed, len(failed), d.idle, dropIdleWindow)})
			}
		}
		if len(at) > 0 {
			f.Summary += "; dropped " + strings.Join(at, "; ")
		}
	}
}

// lostSend is a case's result on the send that lost it.
type lostSend struct {
	traffic.Result
	send int // 2 … resends: the first re-send is the one under the counters' watch
}

// sendUntilLost sends the cases that passed on their first re-send (again) up to resends times
// in all, each until it is lost once; it returns, per case, the send that lost it, or nil, and
// how many re-sends were made (fewer than resends when they could not be sent).
func sendUntilLost(ctx context.Context, c *Cluster, failed []traffic.Case, again []traffic.Result) ([]*lostSend, int) {
	lost := make([]*lostSend, len(failed))
	var idx []int
	for i := range failed {
		if again != nil && again[i].OK {
			idx = append(idx, i)
		}
	}
	sends := 1
	for send := 2; send <= resends && len(idx) > 0; send++ {
		cases := make([]traffic.Case, len(idx))
		for j, i := range idx {
			cases[j] = failed[i]
		}
		results, err := traffic.Run(ctx, c.Traffic, cases)
		if err != nil {
			return lost, sends // cannot send: what was seen stands
		}
		sends = send
		var still []int
		for j, i := range idx {
			if results[j].OK {
				still = append(still, i)
			} else {
				lost[i] = &lostSend{Result: results[j], send: send}
			}
		}
		idx = still
	}
	return lost, sends
}
