package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/node"
)

// IPForwardOff is the check and repair for ip-forward-off: a node whose kernel does not forward
// IPv4 (net.ipv4.ip_forward=0) drops every packet its pods send off the node or receive from it.
// A persisted 0 (in /etc/sysctl.conf or a sysctl.d drop-in) is flagged too: it returns at reboot.
type IPForwardOff struct{}

const (
	ipForwardKey     = "net.ipv4.ip_forward"
	ipForwardDropIn  = "/etc/sysctl.d/99-zz-netcert-ip-forward.conf" // sorts after 99-sysctl.conf
	ipForwardContent = "# Written by netcert: Kubernetes nodes must forward IPv4.\nnet.ipv4.ip_forward = 1\n"
)

// ID returns "ip-forward-off".
func (IPForwardOff) ID() string { return "ip-forward-off" }

// Run reads the live and the persisted value on every node.
func (p IPForwardOff) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	var findings []Finding
	for _, n := range c.Nodes {
		f, err := p.inspect(ctx, n)
		if err != nil {
			return findings, err
		}
		findings = append(findings, f)
	}
	return findings, nil
}

func (p IPForwardOff) inspect(ctx context.Context, n node.Node) (Finding, error) {
	f := Finding{Check: p.ID(), Node: n.Name(), Status: Pass}
	live, ev, err := run(ctx, n, "sysctl", "-n", ipForwardKey)
	if err != nil {
		return f, err
	}
	f.Evidence = append(f.Evidence, ev)
	list, ev, err := persistedIPForward(ctx, n)
	if err != nil {
		return f, err
	}
	persisted, hasPersisted := sysctl.Effective(list, ipForwardKey)
	if hasPersisted {
		f.Evidence = append(f.Evidence, ev)
	}
	var problems []string
	if live != "1" {
		problems = append(problems, fmt.Sprintf("%s is %s: the node does not forward its pods' traffic", ipForwardKey, live))
	}
	if hasPersisted && persisted.Value != "1" {
		problems = append(problems, fmt.Sprintf("%s persists %s = %s, which comes back at reboot", persisted.File, ipForwardKey, persisted.Value))
	}
	if len(problems) == 0 {
		f.Summary = ipForwardKey + " is 1"
		return f, nil
	}
	f.Status, f.Summary = Fail, strings.Join(problems, "; ")
	return f, nil
}

// persistedIPForward reads the persisted ip_forward assignments of n.
func persistedIPForward(ctx context.Context, n node.Node) ([]sysctl.Assignment, Evidence, error) {
	out, ev, err := run(ctx, n, sysctl.PersistedGrep("ip_forward")...)
	if code, ran := node.ExitCode(err); err != nil && !(ran && code == 1) { // 1: no match
		return nil, ev, err
	}
	return sysctl.ParseGrep(out), ev, nil
}

// Plan sets the value now and persists it in a drop-in that sorts after every other file, on
// each node with a Fail finding. Where a persisted 0 would still win over that drop-in (a line in
// /etc/sysctl.conf, which is read last), the node gets a manual step instead: netcert does not
// edit files it did not write.
func (p IPForwardOff) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		n, err := c.nodeByName(f.Node)
		if err != nil {
			return plan, err
		}
		list, _, err := persistedIPForward(ctx, n)
		if err != nil {
			return plan, err
		}
		list = append(list, sysctl.Assignment{File: ipForwardDropIn, Key: ipForwardKey, Value: "1"})
		if won, _ := sysctl.Effective(list, ipForwardKey); won.Value != "1" {
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: %s sets %s = %s and is read after every sysctl.d drop-in, so a drop-in cannot override it: "+
				"change that line to `%s = 1` (netcert does not edit files it did not write), then run `sysctl -w %s=1`",
				f.Node, won.File, ipForwardKey, won.Value, ipForwardKey, ipForwardKey))
			continue
		}
		plan.Actions = append(plan.Actions, Action{
			Node:    f.Node,
			Summary: fmt.Sprintf("set %s=1 now and persist it in %s", ipForwardKey, ipForwardDropIn),
			Argv: [][]string{
				{"sysctl", "-w", ipForwardKey + "=1"},
				{"sh", "-c", fmt.Sprintf("printf '%%s' '%s' > %s", ipForwardContent, ipForwardDropIn)},
			},
		})
	}
	return plan, nil
}

// Apply runs each action's commands, then re-reads the node to verify.
func (p IPForwardOff) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return applyNodeCommands(ctx, c, plan, func(ctx context.Context, n node.Node) (Finding, error) {
		return p.inspect(ctx, n)
	})
}
