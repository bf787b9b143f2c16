package faults

import "context"

// IPForwardOff sets net.ipv4.ip_forward=0 on one node, as a security scan that "hardens" it would:
// the node stops forwarding its pods' traffic. Revert restores the value it found.
type IPForwardOff struct {
	Node string // the node to break
}

// Name returns "ip-forward-off".
func (IPForwardOff) Name() string { return "ip-forward-off" }

// AppliesTo: every CNI routes pod traffic through the node's forwarding path.
func (IPForwardOff) AppliesTo(string) bool { return true }

// Inject sets the value to 0 and returns the revert that restores the old value.
func (f IPForwardOff) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	return setSysctl(ctx, c, f.Name(), f.Node, "net.ipv4.ip_forward", "0")
}
