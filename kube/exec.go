package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// ExitError is a command run in a pod that exited non-zero.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }
func (e *ExitError) Unwrap() error { return e.Err }

// Exec runs argv in a container of a pod through the API server, as `kubectl exec` does, and
// returns what it printed. A command that ran and exited non-zero returns an *ExitError; any
// other error means it could not be run.
func Exec(ctx context.Context, config *rest.Config, client kubernetes.Interface, namespace, pod, container string, argv []string) (stdout, stderr []byte, err error) {
	var out, errOut bytes.Buffer
	err = Stream(ctx, config, client, namespace, pod, container, argv, nil, &out, &errOut)
	return out.Bytes(), errOut.Bytes(), err
}

// Stream runs argv in a container of a pod with stdin (nil: none) and copies what it prints as
// it prints it, until it exits or ctx ends. Its errors are Exec's.
func Stream(ctx context.Context, config *rest.Config, client kubernetes.Interface, namespace, pod, container string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).
		SubResource("exec").VersionedParams(&corev1.PodExecOptions{
		Container: container, Command: argv, Stdin: stdin != nil, Stdout: true, Stderr: true,
	}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(config, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("exec in pod %s/%s: %w", namespace, pod, err)
	}
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	var exit utilexec.ExitError
	if errors.As(err, &exit) {
		return &ExitError{Code: exit.ExitStatus(), Err: err}
	}
	if err != nil {
		return fmt.Errorf("exec in pod %s/%s: %w", namespace, pod, err)
	}
	return nil
}
