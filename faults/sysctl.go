package faults

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/node"
)

// setSysctl sets key to value on the node named nodeName, as fault, and returns the revert that
// restores the value it found; the revert is journaled before the change.
func setSysctl(ctx context.Context, c *Cluster, fault, nodeName, key, value string) (Revert, error) {
	n, err := c.nodeNamed(nodeName)
	if err != nil {
		return nil, err
	}
	old, err := node.Run(ctx, n, "sysctl", "-n", key)
	if err != nil {
		return nil, fmt.Errorf("%s: read the current value: %w", fault, err)
	}
	restore := []string{"sysctl", "-w", key + "=" + strings.TrimSpace(old)}
	revert, err := journaled(ctx, n, fault, shellLine(restore...), func(ctx context.Context) error {
		_, err := node.Run(ctx, n, restore...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fault, err)
	}
	if _, err := node.Run(ctx, n, "sysctl", "-w", key+"="+value); err != nil {
		return nil, fmt.Errorf("%s: %w", fault, err)
	}
	return revert, nil
}
