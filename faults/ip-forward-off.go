package faults

import (
	"context"
	"fmt"

	"github.com/netcert/netcert/node"
)

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
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	old, err := node.Run(ctx, n, "sysctl", "-n", "net.ipv4.ip_forward")
	if err != nil {
		return nil, fmt.Errorf("ip-forward-off: read the current value: %w", err)
	}
	restore := []string{"sysctl", "-w", "net.ipv4.ip_forward=" + old}
	revert, err := journaled(ctx, n, f.Name(), shellLine(restore...), func(ctx context.Context) error {
		_, err := node.Run(ctx, n, restore...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ip-forward-off: %w", err)
	}
	if _, err := node.Run(ctx, n, "sysctl", "-w", "net.ipv4.ip_forward=0"); err != nil {
		return nil, fmt.Errorf("ip-forward-off: %w", err)
	}
	return revert, nil
}
