package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// The pod bridge: a CNI like Flannel (through the bridge plugin) plugs each pod's veth into a
// bridge of the node (cni0) that holds the pods' gateway address. cni-bridge-down,
// cni-bridge-wrong-address, veth-detached and hairpin-off read it here; a node without one
// (Calico routes each pod's veth) is not applicable to them.

// defaultPodBridge is the bridge plugin's default name; it counts as the pod bridge even when
// it holds no port (its last pod's veth may be the one detached).
const defaultPodBridge = "cni0"

// nodeLinks are a node's interfaces and addresses.
type nodeLinks struct {
	links    []iproute.Link
	addrs    []iproute.Addr
	evidence []Evidence
}

func readNodeLinks(ctx context.Context, n node.Node) (*nodeLinks, error) {
	out, ev, err := run(ctx, n, iproute.LinkShowArgv...)
	if err != nil {
		return nil, err
	}
	links, err := iproute.ParseLink([]byte(out))
	if err != nil {
		return nil, err
	}
	aout, aev, err := run(ctx, n, iproute.AddrShowArgv...)
	if err != nil {
		return nil, err
	}
	addrs, err := iproute.ParseAddr([]byte(aout))
	if err != nil {
		return nil, err
	}
	return &nodeLinks{links: links, addrs: addrs, evidence: []Evidence{ev, aev}}, nil
}

// podVeths returns the host ends of pods' veths: veths whose peer is in another network
// namespace and that hold no IPv4 address (the node's own uplink, a veth in kind, holds one).
func (l *nodeLinks) podVeths() []iproute.Link {
	var out []iproute.Link
	for _, k := range l.links {
		if k.Kind == "veth" && k.PeerNetns && len(l.ipv4(k.Name)) == 0 {
			out = append(out, k)
		}
	}
	return out
}

// podBridges returns the bridges that hold a pod's veth, and cni0 if it exists.
func (l *nodeLinks) podBridges() []iproute.Link {
	holds := map[string]bool{defaultPodBridge: true}
	for _, v := range l.podVeths() {
		if v.SlaveKind == "bridge" {
			holds[v.Master] = true
		}
	}
	var out []iproute.Link
	for _, k := range l.links {
		if k.Kind == "bridge" && holds[k.Name] {
			out = append(out, k)
		}
	}
	return out
}

// ports returns the pods' veths that are ports of bridge.
func (l *nodeLinks) ports(bridge string) []iproute.Link {
	return slices.DeleteFunc(l.podVeths(), func(v iproute.Link) bool { return v.Master != bridge })
}

// ipv4 returns the IPv4 addresses of a device.
func (l *nodeLinks) ipv4(dev string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range l.addrs {
		if a.Dev == dev && a.Prefix.Addr().Is4() {
			out = append(out, a.Prefix)
		}
	}
	return out
}

// noPodBridgeFinding is the finding of a node without a pod bridge.
func (l *nodeLinks) noPodBridgeFinding(check, nodeName string) Finding {
	return Finding{Check: check, Node: nodeName, Status: NotApplicable,
		Summary:  "no bridge holds pods' interfaces on this node: pods' traffic is routed, not bridged",
		Evidence: []Evidence{{Source: l.evidence[0].Source, Output: fmt.Sprintf("%d interfaces, no pod bridge", len(l.links))}}}
}

// bridgeCheck runs inspect on every pod bridge of every node; a node without one is not
// applicable.
func bridgeCheck(ctx context.Context, c *Cluster, check string, inspect func(n node.Node, l *nodeLinks, bridge iproute.Link) Finding) ([]Finding, error) {
	perNode, err := eachNode(ctx, c.Nodes, func(ctx context.Context, n node.Node) ([]Finding, error) {
		return inspectBridges(ctx, n, check, inspect)
	})
	return slices.Concat(perNode...), err
}

func inspectBridges(ctx context.Context, n node.Node, check string, inspect func(n node.Node, l *nodeLinks, bridge iproute.Link) Finding) ([]Finding, error) {
	l, err := readNodeLinks(ctx, n)
	if err != nil {
		return nil, err
	}
	bridges := l.podBridges()
	if len(bridges) == 0 {
		return []Finding{l.noPodBridgeFinding(check, n.Name())}, nil
	}
	var out []Finding
	for _, b := range bridges {
		f := inspect(n, l, b)
		f.Check, f.Node = check, n.Name()
		if f.Object == "" {
			f.Object = "link/" + b.Name
		}
		f.Evidence = append(f.Evidence, l.evidence...)
		out = append(out, f)
	}
	return out, nil
}

// applyLinkActions runs each action's commands on its node, then checks the node again: the
// repair of the bridge checks, which act on links, not on one node-wide finding.
func applyLinkActions(ctx context.Context, c *Cluster, plan Plan, check string, inspect func(n node.Node, l *nodeLinks, bridge iproute.Link) Finding) (Record, error) {
	return applyNodeCommands(ctx, c, plan, func(ctx context.Context, n node.Node) (Finding, error) {
		found, err := inspectBridges(ctx, n, check, inspect)
		if err != nil {
			return Finding{}, err
		}
		worst := Finding{Check: check, Node: n.Name(), Status: Pass}
		for _, f := range found {
			worst.Evidence = f.Evidence
			if f.Status == Fail {
				return f, nil
			}
		}
		return worst, nil
	})
}

// linkName is the device a finding's Object ("link/cni0") names.
func linkName(object string) string { return strings.TrimPrefix(object, "link/") }

// planBridges plans one action per Fail finding of check, from the node's links as they are
// now; act returns false where nothing is left to do.
func planBridges(ctx context.Context, c *Cluster, findings []Finding, check string, act func(f Finding, l *nodeLinks) (Action, bool)) (Plan, error) {
	plan := Plan{Check: check}
	for _, f := range findingsOf(findings, check, Fail) {
		n, err := c.nodeByName(f.Node)
		if err != nil {
			return plan, err
		}
		l, err := readNodeLinks(ctx, n)
		if err != nil {
			return plan, err
		}
		if a, ok := act(f, l); ok {
			a.Node = f.Node
			plan.Actions = append(plan.Actions, a)
		}
	}
	return plan, nil
}
