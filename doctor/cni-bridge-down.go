package doctor

import (
	"context"
	"fmt"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// CNIBridgeDown is the check and repair for cni-bridge-down: the pod bridge of a node (cni0) is
// administratively down, so the node's pods reach neither each other, nor the node, nor anything
// beyond it. The bridge plugin sets it up only when it adds a pod.
type CNIBridgeDown struct{}

// ID returns "cni-bridge-down".
func (CNIBridgeDown) ID() string { return "cni-bridge-down" }

func (p CNIBridgeDown) inspect(_ node.Node, l *nodeLinks, b iproute.Link) Finding {
	ports := len(l.ports(b.Name))
	if !b.Up {
		return Finding{Status: Fail, Summary: fmt.Sprintf("%s is down: the %d pod(s) plugged into it reach neither each other, nor the node, nor the network", b.Name, ports)}
	}
	return Finding{Status: Pass, Summary: fmt.Sprintf("%s is up (%d pod port(s))", b.Name, ports)}
}

// Run reads every node's pod bridge.
func (p CNIBridgeDown) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return bridgeCheck(ctx, c, p.ID(), p.inspect)
}

// Plan sets each down pod bridge up.
func (p CNIBridgeDown) Plan(_ context.Context, _ *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		bridge := linkName(f.Object)
		plan.Actions = append(plan.Actions, Action{Node: f.Node, Summary: "set " + bridge + " up",
			Argv: [][]string{{"ip", "link", "set", "dev", bridge, "up"}}})
	}
	return plan, nil
}

// Apply sets the bridges up, then reads the node again.
func (p CNIBridgeDown) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return applyLinkActions(ctx, c, plan, p.ID(), p.inspect)
}
