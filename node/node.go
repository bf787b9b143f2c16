package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Node runs commands on one cluster node, in the node's own namespaces, as root.
type Node interface {
	// Name is the Kubernetes node name.
	Name() string
	// Exec runs argv and returns its output. A command that ran and exited non-zero returns an
	// *ExecError (with the output); any other error means the node could not be reached.
	Exec(ctx context.Context, argv ...string) (stdout, stderr []byte, err error)
}

// ExecError is a command that ran on a node and exited non-zero.
type ExecError struct {
	Node     string
	Argv     []string
	ExitCode int
	Stderr   string
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("%s: %s: exit status %d: %s", e.Node, strings.Join(e.Argv, " "), e.ExitCode, strings.TrimSpace(e.Stderr))
}

// ExitCode returns the exit code of a command that ran and failed, and false for any other error.
func ExitCode(err error) (int, bool) {
	var e *ExecError
	if errors.As(err, &e) {
		return e.ExitCode, true
	}
	return 0, false
}
