package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"
)

// Kind is a kind node, reached with the kind library (docker exec).
type Kind struct {
	node nodes.Node
}

// KindNodes returns the nodes of the kind cluster name, found through the Docker provider. Their
// commands run through a few shell sessions per node (Shells), one docker exec per command when
// a node has no shell loop.
func KindNodes(name string) ([]Node, error) {
	list, err := cluster.NewProvider(cluster.ProviderWithDocker()).ListNodes(name)
	if err != nil {
		return nil, fmt.Errorf("list the nodes of kind cluster %s: %w", name, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("kind cluster %s has no nodes: is it running? (kind get clusters)", name)
	}
	out := make([]Node, 0, len(list))
	for _, n := range list {
		k := &Kind{node: n}
		out = append(out, NewShells(k.Name(), func(loop ...string) *exec.Cmd {
			return exec.Command("docker", append([]string{"exec", "--privileged", "-i", k.Name()}, loop...)...)
		}, k))
	}
	return out, nil
}

// Name returns the node's name, which kind also uses as the Kubernetes node name.
func (k *Kind) Name() string { return k.node.String() }

// Exec runs argv in the node container.
func (k *Kind) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("exec: empty command")
	}
	var stdout, stderr bytes.Buffer
	err := k.node.CommandContext(ctx, argv[0], argv[1:]...).SetStdout(&stdout).SetStderr(&stderr).Run()
	if err == nil {
		return stdout.Bytes(), stderr.Bytes(), nil
	}
	var runErr *kindexec.RunError
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) || (errors.As(err, &runErr) && errors.As(runErr.Inner, &exitErr)) {
		code := exitErr.ExitCode()
		// docker exec itself fails with 125-127 when it cannot run the command or reach the node.
		if code < 125 {
			return stdout.Bytes(), stderr.Bytes(), &ExecError{Node: k.Name(), Argv: argv, ExitCode: code, Stderr: stderr.String()}
		}
	}
	return stdout.Bytes(), stderr.Bytes(), fmt.Errorf("%s: cannot run %v: %w: %s", k.Name(), argv, err, bytes.TrimSpace(stderr.Bytes()))
}
