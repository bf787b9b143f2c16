package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WithDeadline returns n with every command bounded by d: a command still running after d is
// ended (its context cancelled) and fails with an error that names the command and the bound, so
// that a hung docker exec, pod exec or an iptables waiting on its lock becomes "could not
// evaluate" instead of a hang. d <= 0 returns n unchanged.
func WithDeadline(n Node, d time.Duration) Node {
	if d <= 0 {
		return n
	}
	return deadlineNode{n, d}
}

type deadlineNode struct {
	Node
	d time.Duration
}

// ErrHung marks a node command that did not finish within its deadline.
var ErrHung = errors.New("did not finish in time")

// Unwrap returns the node it bounds.
func (n deadlineNode) Unwrap() Node { return n.Node }

func (n deadlineNode) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.d)
	defer cancel()
	stdout, stderr, err := n.Node.Exec(ctx, argv...)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%s: `%s` %w: still running after %s (hung? raise --node-timeout): %v", n.Name(), strings.Join(argv, " "), ErrHung, n.d, err)
	}
	return stdout, stderr, err
}
