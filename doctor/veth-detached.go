package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// VethDetached is the check and repair for veth-detached: on a node whose pods hang off a bridge,
// a pod's veth (its peer in another network namespace, no address of its own) that is no port
// of the bridge, or is down, cuts that pod off.
type VethDetached struct{}

// ID returns "veth-detached".
func (VethDetached) ID() string { return "veth-detached" }

func (p VethDetached) inspect(_ node.Node, l *nodeLinks, b iproute.Link) Finding {
	var detached, down []string
	for _, v := range l.podVeths() {
		switch {
		case v.Master == "":
			detached = append(detached, v.Name)
		case v.Master == b.Name && !v.Up:
			down = append(down, v.Name)
		}
	}
	var problems []string
	if len(detached) > 0 {
		problems = append(problems, fmt.Sprintf("%s: a pod's veth (its peer is in another network namespace, it holds no address) but no port of %s: that pod is cut off",
			strings.Join(detached, ", "), b.Name))
	}
	if len(down) > 0 {
		problems = append(problems, fmt.Sprintf("%s: a port of %s that is down: that pod is cut off", strings.Join(down, ", "), b.Name))
	}
	if len(problems) > 0 {
		return Finding{Status: Fail, Summary: strings.Join(problems, "; ")}
	}
	return Finding{Status: Pass, Summary: fmt.Sprintf("every pod veth is an up port of %s (%d)", b.Name, len(l.ports(b.Name)))}
}

// Run reads every node's pods' veths.
func (p VethDetached) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return bridgeCheck(ctx, c, p.ID(), p.inspect)
}

// Plan plugs each detached veth into the bridge and sets it up, with hairpin mode on where the
// bridge's other ports have it (re-plugging a port resets it).
func (p VethDetached) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	return planBridges(ctx, c, findings, p.ID(), func(f Finding, l *nodeLinks) (Action, bool) {
		bridge := linkName(f.Object)
		hairpin := false
		for _, port := range l.ports(bridge) {
			hairpin = hairpin || (port.Hairpin != nil && *port.Hairpin)
		}
		var a Action
		var plugged []string
		for _, v := range l.podVeths() {
			if v.Master != "" && (v.Master != bridge || v.Up) {
				continue
			}
			plugged = append(plugged, v.Name)
			if v.Master == "" {
				a.Argv = append(a.Argv, []string{"ip", "link", "set", "dev", v.Name, "master", bridge})
			}
			a.Argv = append(a.Argv, []string{"ip", "link", "set", "dev", v.Name, "up"})
			if hairpin {
				a.Argv = append(a.Argv, hairpinOn(v.Name))
			}
		}
		a.Summary = fmt.Sprintf("plug %s into %s and set it up", strings.Join(plugged, ", "), bridge)
		if hairpin {
			a.Summary += ", hairpin mode on like its other ports"
		}
		return a, len(plugged) > 0
	})
}

// hairpinOn is the command that sets a bridge port's hairpin mode on.
func hairpinOn(port string) []string {
	return []string{"ip", "link", "set", "dev", port, "type", "bridge_slave", "hairpin", "on"}
}

// Apply plugs the veths in, then reads the node again.
func (p VethDetached) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return applyLinkActions(ctx, c, plan, p.ID(), p.inspect)
}
