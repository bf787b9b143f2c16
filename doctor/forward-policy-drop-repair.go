package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// forwardAccepts returns the commands that insert, at the top of fc's chain in its own view, an
// ACCEPT for each pod network range as source and as destination, in that order.
func forwardAccepts(fc forwardChain, cidrs []string) [][]string {
	c := fc.chain
	var out [][]string
	if fc.backend == netfilter.Native {
		for _, cidr := range slices.Backward(cidrs) { // each insert goes first: the last one inserted ends up on top
			for _, field := range []string{"daddr", "saddr"} {
				out = append(out, []string{"nft", "insert", "rule", c.Family, c.Table, c.Name, "ip", field, cidr,
					"accept", "comment", strconv.Quote(forwardRepairComment)})
			}
		}
		return out
	}
	for _, cidr := range cidrs {
		for _, flag := range []string{"-s", "-d"} {
			out = append(out, []string{string(fc.backend), "-w", "-t", c.Table, "-I", c.Name, strconv.Itoa(len(out) + 1), flag, cidr,
				"-m", "comment", "--comment", forwardRepairComment, "-j", "ACCEPT"})
		}
	}
	return out
}

// Plan reads the pod network and each failing node again and plans, per node, the ACCEPTs for
// the pod network at the top of every forward base chain that drops the pods' traffic there. The
// foreign policy and rules stay; the rules are not persisted (netcert cannot tell which firewall
// or script set the policy), which the action says.
func (p ForwardPolicyDrop) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	failed := findingsOf(findings, p.ID(), Fail)
	if len(failed) == 0 {
		return plan, nil
	}
	pt, err := readPodTraffic(ctx, c)
	if err != nil {
		return plan, fmt.Errorf("%s: %w", p.ID(), err)
	}
	var cidrs []string
	for _, r := range pt.cidrs {
		cidrs = append(cidrs, r.String())
	}
	for _, f := range failed {
		n, err := c.nodeByName(f.Node)
		if err != nil {
			return plan, err
		}
		fn, err := p.inspect(ctx, n, pt)
		if err != nil {
			return plan, err
		}
		var chains []string
		a := Action{Node: f.Node}
		for _, fc := range fn.blocked() {
			chains = append(chains, string(fc.backend)+" "+fc.where())
			a.Argv = append(a.Argv, forwardAccepts(fc, cidrs)...)
		}
		switch {
		case len(chains) == 0: // it passes now
		case len(cidrs) == 0:
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: %s drop the pods' traffic, and netcert knows no pod network range to accept "+
				"(no node has a podCIDR, and the CNI's network is not read): accept the pods' addresses or interfaces (%s) in those chains by hand",
				f.Node, strings.Join(chains, ", "), pt.ifaces))
		default:
			a.Summary = fmt.Sprintf("insert ACCEPT rules for the pod network (%s), as source and as destination, at the top of %s; "+
				"the chains' own policy and rules stay. Not persisted: the firewall or script that set the policy must accept the pod network "+
				"in its own configuration (netcert cannot tell which one did), or its next reload or a reboot drops the pods' traffic again",
				pt.network(), strings.Join(chains, " and "))
			plan.Actions = append(plan.Actions, a)
		}
	}
	return plan, nil
}

// Apply runs each node's commands while the node still fails, then checks the node again: it must
// pass. On a node that passes already it changes nothing.
func (p ForwardPolicyDrop) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	if len(plan.Actions) == 0 {
		return Record{Check: plan.Check}, refuseManual(plan)
	}
	pt, err := readPodTraffic(ctx, c)
	if err != nil {
		return Record{Check: plan.Check}, fmt.Errorf("%s: %w", p.ID(), err)
	}
	return applyNodeCommands(ctx, c, plan, func(ctx context.Context, n node.Node) (Finding, error) {
		fn, err := p.inspect(ctx, n, pt)
		if err != nil {
			return Finding{}, err
		}
		return fn.finding, nil
	})
}
