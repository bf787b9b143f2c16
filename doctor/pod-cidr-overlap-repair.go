package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/node"
)

// Plan reads the cluster again and, for each Fail finding whose overlap is still there, deletes
// the conflicting route or address (`ip route del <its exact spec>`, `ip addr del <prefix> dev
// <dev>`) when it is not on the node's primary interface (the default route's or the
// InternalIP's) and lies within a pod range. Everything else — the primary interface, a range
// reaching beyond the pod ranges, a pod network that overlaps the node network or the Service
// CIDR — becomes a manual step that says what to re-address.
func (p PodCIDROverlap) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	failed := findingsOf(findings, p.ID(), Fail)
	if len(failed) == 0 {
		return plan, nil
	}
	st, err := p.read(ctx, c)
	if err != nil {
		return plan, err
	}
	suggest := st.freePodSubnet()
	current := map[string]overlapConflict{}
	for _, n := range st.nodes {
		for _, cf := range p.nodeConflicts(st.api, n, suggest) {
			current[cf.Node+"\x00"+cf.Object] = cf
		}
	}
	for _, cf := range p.clusterConflicts(st, suggest) {
		current[cf.Node+"\x00"+cf.Object] = cf
	}
	seen := map[string]bool{}
	for _, f := range failed {
		cf, ok := current[f.Node+"\x00"+f.Object]
		if !ok { // gone since the check ran
			continue
		}
		if cf.Argv == nil {
			if !seen[cf.Manual] {
				seen[cf.Manual] = true
				plan.Manual = append(plan.Manual, cf.Manual)
			}
			continue
		}
		plan.Actions = append(plan.Actions, Action{Node: cf.Node, Object: cf.Object, Argv: [][]string{cf.Argv},
			Summary: fmt.Sprintf("delete %s, which overlaps a pod range: %s", cf.Object, strings.Join(cf.Argv, " "))})
	}
	return plan, nil
}

// Apply deletes each planned route or address, one action at a time: it re-reads the node and
// runs the command only while the object is still there, then re-reads the node to verify it is
// gone. A plan with manual steps is refused.
func (p PodCIDROverlap) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	if len(plan.Manual) > 0 { // refused, with applyNodeCommands' own error
		return applyNodeCommands(ctx, c, plan, func(context.Context, node.Node) (Finding, error) {
			return Finding{}, fmt.Errorf("%s: a plan with manual steps is not applied", p.ID())
		})
	}
	rec := Record{Check: plan.Check}
	for _, a := range plan.Actions {
		r, err := applyNodeCommands(ctx, c, Plan{Check: plan.Check, Actions: []Action{a}},
			func(ctx context.Context, n node.Node) (Finding, error) { return p.inspectObject(ctx, c, n, a.Object) })
		rec.Steps = append(rec.Steps, r.Steps...)
		if err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// inspectObject re-reads a node and returns a Fail finding while object still overlaps a pod
// range there, a Pass once it does not.
func (p PodCIDROverlap) inspectObject(ctx context.Context, c *Cluster, n node.Node, object string) (Finding, error) {
	api, err := readAPIRanges(ctx, c)
	if err != nil {
		return Finding{}, fmt.Errorf("%s: %w", p.ID(), err)
	}
	st, err := readNodeRoutes(ctx, n, api.InternalIPs[n.Name()])
	if err != nil {
		return Finding{}, fmt.Errorf("%s: %w", p.ID(), err)
	}
	for _, cf := range p.nodeConflicts(api, st, "") {
		if cf.Object == object {
			return cf.Finding, nil
		}
	}
	return Finding{Check: p.ID(), Node: n.Name(), Object: object, Status: Pass, Evidence: st.Evidence,
		Summary: object + " no longer overlaps a pod range"}, nil
}
