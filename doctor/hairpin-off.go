package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// HairpinOff is the check and repair for hairpin-off: a pod's port of the bridge with hairpin
// mode off. A packet from that pod to a Service that picks the pod itself must leave the bridge
// through the port it came in by, which the bridge refuses: the pod cannot reach itself through
// its own Service.
type HairpinOff struct{}

// ID returns "hairpin-off".
func (HairpinOff) ID() string { return "hairpin-off" }

func (p HairpinOff) inspect(_ node.Node, l *nodeLinks, b iproute.Link) Finding {
	var off []string
	ports := l.ports(b.Name)
	for _, v := range ports {
		if v.Hairpin != nil && !*v.Hairpin {
			off = append(off, v.Name)
		}
	}
	if len(off) > 0 {
		return Finding{Status: Fail, Summary: fmt.Sprintf("%s: hairpin mode off on a pod's port of %s: that pod cannot reach itself through a Service", strings.Join(off, ", "), b.Name)}
	}
	return Finding{Status: Pass, Summary: fmt.Sprintf("hairpin mode on for every pod port of %s (%d)", b.Name, len(ports))}
}

// Run reads every node's bridge ports.
func (p HairpinOff) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return bridgeCheck(ctx, c, p.ID(), p.inspect)
}

// Plan sets hairpin mode on for the ports that have it off, one action per node.
func (p HairpinOff) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	return planBridges(ctx, c, findings, p.ID(), func(f Finding, l *nodeLinks) (Action, bool) {
		var a Action
		var off []string
		for _, v := range l.ports(linkName(f.Object)) {
			if v.Hairpin != nil && !*v.Hairpin {
				off = append(off, v.Name)
				a.Argv = append(a.Argv, hairpinOn(v.Name))
			}
		}
		a.Summary = "set hairpin mode on for " + strings.Join(off, ", ")
		return a, len(off) > 0
	})
}

// Apply sets hairpin mode on, then reads the node again.
func (p HairpinOff) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return applyLinkActions(ctx, c, plan, p.ID(), p.inspect)
}
