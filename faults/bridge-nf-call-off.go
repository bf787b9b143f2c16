package faults

import "context"

// BridgeNFCallOff sets net.bridge.bridge-nf-call-iptables=0 on one node, as a hardening script or
// a missing br_netfilter setting at boot does: frames between pods of the node's bridge skip
// iptables. (The value is per network namespace: a kind node's own.) Revert restores the value
// it found.
type BridgeNFCallOff struct {
	Node string // the node to break
}

// Name returns "bridge-nf-call-off".
func (BridgeNFCallOff) Name() string { return "bridge-nf-call-off" }

// AppliesTo: Flannel bridges its pods (cni0); Calico routes them, so no frame is bridged.
func (BridgeNFCallOff) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject sets the value to 0 and returns the revert that restores the old value.
func (f BridgeNFCallOff) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	return setSysctl(ctx, c, f.Name(), f.Node, "net.bridge.bridge-nf-call-iptables", "0")
}
