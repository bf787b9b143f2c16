package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netcert/netcert/kube"
)

// Where netcert's node agent runs: a DaemonSet of privileged pods in the host's PID and network
// namespaces, in a namespace of its own (InstallAgent).
const (
	AgentNamespace = "netcert-agent"
	AgentName      = "netcert-agent"
	AgentSelector  = "app.kubernetes.io/name=" + AgentName
	agentContainer = "agent"
)

// nsenterHost runs a command in the namespaces of the node's PID 1: its mounts, hostname, IPC,
// network and PIDs, so the node's own tools act on the node's own state.
var nsenterHost = []string{"nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--"}

// Agent is a node reached through netcert's agent pod on it, over the API server (pod exec): any
// cluster whose API netcert can reach, not only kind.
type Agent struct {
	name   string
	pod    string
	config *rest.Config
	client kubernetes.Interface
}

// AgentNodes returns every node of the cluster, each reached through its running agent pod; an
// error names the nodes without one.
func AgentNodes(ctx context.Context, config *rest.Config, client kubernetes.Interface) ([]Node, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	pods, err := client.CoreV1().Pods(AgentNamespace).List(ctx, metav1.ListOptions{LabelSelector: AgentSelector})
	if err != nil {
		return nil, fmt.Errorf("list netcert agent pods: %w", err)
	}
	podOn := map[string]string{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			podOn[p.Spec.NodeName] = p.Name
		}
	}
	var out []Node
	var missing []string
	for _, n := range nodes.Items {
		if pod, ok := podOn[n.Name]; ok {
			out = append(out, (&Agent{name: n.Name, pod: pod, config: config, client: client}).shells())
		} else {
			missing = append(missing, n.Name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no running netcert agent pod (%s/%s) on node(s) %s: install it with `netcert agent install`",
			AgentNamespace, AgentName, strings.Join(missing, ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("the cluster has no nodes")
	}
	return out, nil
}

// Name returns the Kubernetes node name.
func (a *Agent) Name() string { return a.name }

// shells runs the node's commands through a few shell sessions in the host's namespaces, one pod
// exec each (Shells), instead of one pod exec per command; a node without the loop's tools
// falls back to exec per command.
func (a *Agent) shells() *Shells {
	return newShells(a.name, func(loop []string) (*process, error) {
		return podProcess(a.config, a.client, AgentNamespace, a.pod, agentContainer, append(append([]string{}, nsenterHost...), loop...)), nil
	}, func(code int) bool { return code != 126 }, a) // as Exec: 127 is a command the node does not have
}

// podProcess runs argv in a pod's container as a session's process: a pod exec that streams.
func podProcess(config *rest.Config, client kubernetes.Interface, namespace, pod, container string, argv []string) *process {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		err := kube.Stream(ctx, config, client, namespace, pod, container, argv, inR, outW, errW)
		outW.CloseWithError(cmp.Or(err, io.EOF))
		errW.CloseWithError(cmp.Or(err, io.EOF))
		_ = inR.Close()
		cancel()
		close(done)
	}()
	return &process{stdin: inW, stdout: outR, stderr: errR, done: done, kill: cancel}
}

// Exec runs argv on the node, through the agent pod.
func (a *Agent) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("exec: empty command")
	}
	stdout, stderr, err := kube.Exec(ctx, a.config, a.client, AgentNamespace, a.pod, agentContainer, append(append([]string{}, nsenterHost...), argv...))
	var exit *kube.ExitError
	if errors.As(err, &exit) {
		// nsenter exits 127 when the node has no such command (like a shell, and like the Fake:
		// the checks read it as "not installed") and 126 when it cannot run it.
		if exit.Code != 126 {
			return stdout, stderr, &ExecError{Node: a.name, Argv: argv, ExitCode: exit.Code, Stderr: string(stderr)}
		}
	}
	if err != nil {
		return stdout, stderr, fmt.Errorf("%s (agent pod %s): cannot run %v: %w: %s", a.name, a.pod, argv, err, strings.TrimSpace(string(stderr)))
	}
	return stdout, stderr, nil
}
