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

// CommandLine is how a command on a node is shown in evidence and errors: "node$ argv...".
func CommandLine(n Node, argv []string) string {
	return n.Name() + "$ " + strings.Join(argv, " ")
}

// Run runs argv on n and returns its trimmed standard output. Its error names the node and the
// command and carries what the command printed on standard error (and wraps an *ExecError when
// the command ran and failed).
func Run(ctx context.Context, n Node, argv ...string) (string, error) {
	stdout, stderr, err := n.Exec(ctx, argv...)
	out := strings.TrimSpace(string(stdout))
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", CommandLine(n, argv), err, strings.TrimSpace(string(stderr)))
	}
	return out, nil
}
