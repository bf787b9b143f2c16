package podprobe

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/probe"
)

// Where netcert's probe pods run and how they are labelled.
const (
	Namespace = "netcert-system"
	Selector  = "app.kubernetes.io/name=netcert-probe,netcert.io/probe-set=a"
	Container = "probe"
	UDPPort   = "8082"
)

// Prober runs netcert-probe in the probe pods of a cluster.
type Prober struct {
	Config *rest.Config
	Client kubernetes.Interface
}

var _ doctor.Prober = (*Prober)(nil)

// Run runs `netcert-probe ARGS...` in pod and returns its result with the evidence of the call. A
// probe that ran and found the target unreachable is a Result with OK false; an error means the
// probe could not be run.
func (p *Prober) Run(ctx context.Context, pod corev1.Pod, args ...string) (probe.Result, doctor.Evidence, error) {
	argv := append([]string{"/netcert-probe"}, args...)
	ev := doctor.Evidence{Source: fmt.Sprintf("pod %s/%s (node %s)$ %s", pod.Namespace, pod.Name, pod.Spec.NodeName, strings.Join(argv, " "))}
	stdout, stderr, execErr := kube.Exec(ctx, p.Config, p.Client, pod.Namespace, pod.Name, Container, argv)
	ev.Output = strings.TrimSpace(string(stdout))
	res, err := probe.ParseResult(stdout)
	if err != nil {
		return probe.Result{}, ev, fmt.Errorf("%s: no probe result (exec: %v, stderr: %s): %w", ev.Source, execErr, strings.TrimSpace(string(stderr)), err)
	}
	return res, ev, nil
}

// RunningPods lists the Running probe pods (set a) that are not being deleted.
func RunningPods(ctx context.Context, client kubernetes.Interface) ([]corev1.Pod, error) {
	pods, err := client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector})
	if err != nil {
		return nil, fmt.Errorf("list probe pods: %w", err)
	}
	var running []corev1.Pod
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil {
			running = append(running, pod)
		}
	}
	return running, nil
}

// PodOn returns the Running probe pod (set a) on node.
func (p *Prober) PodOn(ctx context.Context, node string) (corev1.Pod, error) {
	pods, err := p.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: Selector, FieldSelector: "spec.nodeName=" + node,
	})
	if err != nil {
		return corev1.Pod{}, fmt.Errorf("list probe pods on %s: %w", node, err)
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != "" && pod.DeletionTimestamp == nil {
			return pod, nil
		}
	}
	return corev1.Pod{}, fmt.Errorf("no running netcert probe pod on node %s (namespace %s)", node, Namespace)
}

// PodToPod sends UDP from the probe pod on node from to the probe pod on node to.
func (p *Prober) PodToPod(ctx context.Context, from, to string) (bool, doctor.Evidence, error) {
	src, err := p.PodOn(ctx, from)
	if err != nil {
		return false, doctor.Evidence{}, err
	}
	dst, err := p.PodOn(ctx, to)
	if err != nil {
		return false, doctor.Evidence{}, err
	}
	res, ev, err := p.Run(ctx, src, "udp", "--timeout", "2s", net.JoinHostPort(dst.Status.PodIP, UDPPort))
	return res.OK, ev, err
}

// DNS sends one query for name to server from the probe pod of every node at once. The server
// answers when the query gets an answer from any node: a network fault that cuts off one node must
// not make a working upstream look dead. The evidence lists every node's result.
func (p *Prober) DNS(ctx context.Context, server, name string) (bool, doctor.Evidence, error) {
	running, err := RunningPods(ctx, p.Client)
	if err != nil {
		return false, doctor.Evidence{}, err
	}
	if len(running) == 0 {
		return false, doctor.Evidence{}, fmt.Errorf("no running netcert probe pod in %s", Namespace)
	}
	type answer struct {
		ok  bool
		ev  doctor.Evidence
		err error
	}
	answers := make([]answer, len(running))
	var wg sync.WaitGroup
	for i, pod := range running {
		wg.Go(func() {
			res, ev, err := p.Run(ctx, pod, "dns", "--server", server, "--timeout", "2s", name)
			answers[i] = answer{res.OK, ev, err}
		})
	}
	wg.Wait()
	ok := false
	var sources, outputs []string
	for _, a := range answers {
		if a.err != nil {
			return false, a.ev, a.err
		}
		ok = ok || a.ok
		sources = append(sources, a.ev.Source)
		outputs = append(outputs, a.ev.Output)
	}
	return ok, doctor.Evidence{Source: strings.Join(sources, "\n"), Output: strings.Join(outputs, "\n")}, nil
}
