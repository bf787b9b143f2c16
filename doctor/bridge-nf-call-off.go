package doctor

import (
	"context"
	"fmt"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// BridgeNFCallOff is the check and repair for bridge-nf-call-off: on a node whose CNI bridges its
// pods (Flannel's cni0), net.bridge.bridge-nf-call-iptables=0 lets frames between two pods of the
// bridge skip iptables and nftables. A pod's request to a Service that lands on another pod of the
// same node is DNATed on the way in, but the reply crosses the bridge straight back, is never
// un-NATed, and the client drops it. Nodes where no bridge holds an interface are not applicable
// (Calico routes every pod through the host). The value is per network namespace, and a persisted
// 0 fails too; the repair also loads br_netfilter at boot, so the drop-in finds its key.
type BridgeNFCallOff struct{}

var bridgeNFCall = nodeSysctl{
	id:         "bridge-nf-call-off",
	key:        "net.bridge.bridge-nf-call-iptables",
	want:       "1",
	breaks:     "frames between pods of the node's bridge skip iptables, so replies from a Service's endpoint on the same node are never un-NATed",
	dropIn:     "/etc/sysctl.d/99-zz-netcert-bridge-nf-call.conf",
	absent:     "br_netfilter is not loaded, so frames between pods of the node's bridge skip iptables",
	moduleLoad: "/etc/modules-load.d/netcert-br_netfilter.conf",
	module:     "br_netfilter",
	bypassed:   noPodBridge,
}

// noPodBridge reports whether no bridge on the node holds an interface: nothing is bridged.
func noPodBridge(ctx context.Context, n node.Node) (bool, string, []Evidence, error) {
	out, ev, err := run(ctx, n, iproute.LinkShowArgv...)
	if err != nil {
		return false, "", nil, err
	}
	links, err := iproute.ParseLink([]byte(out))
	if err != nil {
		return false, "", nil, err
	}
	var used []string
	for bridge, ports := range iproute.BridgePorts(links) {
		if len(ports) > 0 {
			used = append(used, bridge)
		}
	}
	if len(used) > 0 {
		return false, "", nil, nil
	}
	return true, "no bridge on the node holds an interface: pods' traffic is routed, not bridged", []Evidence{{Source: ev.Source, Output: fmt.Sprintf("%d interfaces, none of them a bridge port", len(links))}}, nil
}

// ID returns "bridge-nf-call-off".
func (BridgeNFCallOff) ID() string { return bridgeNFCall.id }

// Run reads, on every node that bridges pods, the live and the persisted value.
func (BridgeNFCallOff) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return bridgeNFCall.run(ctx, c)
}

// Plan sets the value now and persists it (see nodeSysctl.plan).
func (BridgeNFCallOff) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	return bridgeNFCall.plan(ctx, c, findings)
}

// Apply runs each action's commands, then re-reads the node to verify.
func (BridgeNFCallOff) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return bridgeNFCall.apply(ctx, c, plan)
}
