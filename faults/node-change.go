package faults

import (
	"context"
	"fmt"

	"github.com/netcert/netcert/node"
)

// nodeChange runs the commands of change on n as fault, after journaling undo (a shell script
// that reverts them and is safe to run twice); the revert runs undo. If a command fails, undo
// runs at once, so a failed injection leaves nothing behind.
func nodeChange(ctx context.Context, n node.Node, fault, undo string, change ...[]string) (Revert, error) {
	undoArgv := []string{"sh", "-c", undo}
	revert, err := journaled(ctx, n, fault, undo, func(ctx context.Context) error {
		if _, err := node.Run(ctx, n, undoArgv...); err != nil {
			return fmt.Errorf("%s: revert on %s: %w", fault, n.Name(), err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fault, err)
	}
	for _, argv := range change {
		if _, err := node.Run(ctx, n, argv...); err != nil {
			if rerr := revert(context.WithoutCancel(ctx)); rerr != nil {
				return nil, fmt.Errorf("%s on %s: %w (and reverting: %v)", fault, n.Name(), err, rerr)
			}
			return nil, fmt.Errorf("%s on %s: %w", fault, n.Name(), err)
		}
	}
	return revert, nil
}
