package podprobe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/probe"
	"github.com/netcert/netcert/traffic"
)

// Where netcert's probe pods run and how they are labelled.
const (
	Namespace = "netcert-system"
	Selector  = "app.kubernetes.io/name=netcert-probe,netcert.io/probe-set=a"
	Container = "probe"
	UDPPort   = "8082"
)

// Prober runs netcert-probe in the probe pods of a cluster and, when Outside is set, on a host
// outside it.
type Prober struct {
	Config *rest.Config
	Client kubernetes.Interface
	// Outside runs netcert-probe with argv outside the cluster (the test bed's node-network
	// host) and returns what it printed and where it ran; nil: no external paths.
	Outside func(ctx context.Context, argv []string) (stdout, stderr []byte, source string, err error)
	// OutsideAddr is the address Outside sends from, when known.
	OutsideAddr string
}

var (
	_ doctor.Prober        = (*Prober)(nil)
	_ doctor.TrafficSender = (*Prober)(nil)
	_ traffic.BatchSender  = (*Prober)(nil)
)

// Run runs `netcert-probe ARGS...` in pod's probe container and returns its result with the
// evidence of the call. A probe that ran and found the target unreachable is a Result with OK
// false; an error means the probe could not be run.
func (p *Prober) Run(ctx context.Context, pod corev1.Pod, args ...string) (probe.Result, doctor.Evidence, error) {
	return p.runIn(ctx, pod.Namespace, pod.Name, pod.Spec.NodeName, Container, args)
}

func (p *Prober) runIn(ctx context.Context, namespace, name, nodeName, container string, args []string) (probe.Result, doctor.Evidence, error) {
	argv := append([]string{"/netcert-probe"}, args...)
	ev := doctor.Evidence{Source: fmt.Sprintf("pod %s/%s (node %s)$ %s", namespace, name, nodeName, strings.Join(argv, " "))}
	stdout, stderr, execErr := kube.Exec(ctx, p.Config, p.Client, namespace, name, container, argv)
	return parsed(ev, stdout, stderr, execErr)
}

// parsed decodes a probe's one-line result into the evidence of its call.
func parsed(ev doctor.Evidence, stdout, stderr []byte, runErr error) (probe.Result, doctor.Evidence, error) {
	ev.Output = strings.TrimSpace(string(stdout))
	res, err := probe.ParseResult(stdout)
	if err != nil {
		return probe.Result{}, ev, fmt.Errorf("%s: no probe result (run: %v, stderr: %s): %w", ev.Source, runErr, strings.TrimSpace(string(stderr)), err)
	}
	return res, ev, nil
}

// External reports whether the prober can send from outside the cluster.
func (p *Prober) External() bool { return p.Outside != nil }

// ExternalAddr is the address the prober sends from outside the cluster ("" when unknown).
func (p *Prober) ExternalAddr() string { return p.OutsideAddr }

// Send runs one case of the traffic matrix: in its pod's container, or outside the cluster.
func (p *Prober) Send(ctx context.Context, c traffic.Case) (traffic.Result, error) {
	argv := append([]string{"/netcert-probe"}, c.Args...)
	stdout, stderr, where, runErr := p.runFrom(ctx, c, argv)
	if where == "" {
		return traffic.Result{}, runErr
	}
	res, ev, err := parsed(doctor.Evidence{Source: where + " " + strings.Join(argv, " ")}, stdout, stderr, runErr)
	return traffic.Result{OK: res.OK, Error: res.Error, Source: ev.Source, Output: ev.Output}, err
}

// runFrom runs argv where case c is sent from: outside the cluster, or its pod's container. where
// is who ran it, as a case's evidence source starts ("pod ns/name (node n)$"); "" when it could
// not run at all.
func (p *Prober) runFrom(ctx context.Context, c traffic.Case, argv []string) (stdout, stderr []byte, where string, err error) {
	if !c.External {
		where = fmt.Sprintf("pod %s/%s (node %s)$", c.From.Namespace, c.From.Name, c.From.Node)
		stdout, stderr, err = kube.Exec(ctx, p.Config, p.Client, c.From.Namespace, c.From.Name, c.Container, argv)
		return stdout, stderr, where, err
	}
	if p.Outside == nil {
		return nil, nil, "", fmt.Errorf("no host outside the cluster to send %s from", c.Path)
	}
	stdout, stderr, source, err := p.Outside(ctx, argv)
	return stdout, stderr, strings.TrimSuffix(source, " "+strings.Join(argv, " ")), err
}

// SendBatch runs cases of one sender (a pod's container, or outside) as one `netcert-probe batch`:
// one exec, the probes at once. Each result's source is the case's own command line, which a
// person can run alone. A probe image without batch gets the cases one by one.
func (p *Prober) SendBatch(ctx context.Context, cases []traffic.Case) ([]traffic.Result, error) {
	lines := make([][]string, len(cases))
	for i, c := range cases {
		lines[i] = c.Args
	}
	list, err := json.Marshal(lines)
	if err != nil {
		return nil, err
	}
	argv := []string{"/netcert-probe", "batch", string(list)}
	stdout, stderr, where, runErr := p.runFrom(ctx, cases[0], argv)
	if where == "" {
		return nil, runErr
	}
	if runErr != nil && strings.Contains(string(stderr), `unknown subcommand "batch"`) {
		return p.sendEach(ctx, cases)
	}
	got := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	if runErr != nil || len(got) != len(cases) {
		return nil, fmt.Errorf("%s /netcert-probe batch (%d cases): %d result lines (run: %v, stderr: %s): the batch did not run, or its output was lost on the way",
			where, len(cases), len(got), runErr, strings.TrimSpace(string(stderr)))
	}
	results := make([]traffic.Result, len(cases))
	for i, c := range cases {
		ev := doctor.Evidence{Source: where + " " + strings.Join(append([]string{"/netcert-probe"}, c.Args...), " ")}
		res, ev, err := parsed(ev, []byte(got[i]), stderr, nil)
		if err != nil {
			return nil, err
		}
		results[i] = traffic.Result{OK: res.OK, Error: res.Error, Source: ev.Source, Output: ev.Output}
	}
	return results, nil
}

// sendEach sends the cases one by one.
func (p *Prober) sendEach(ctx context.Context, cases []traffic.Case) ([]traffic.Result, error) {
	results := make([]traffic.Result, len(cases))
	for i, c := range cases {
		var err error
		if results[i], err = p.Send(ctx, c); err != nil {
			return nil, err
		}
	}
	return results, nil
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

// PodPairs sends UDP from the probe pod on each pair's From node to the one on its To node: a
// datagram every 150ms until one is echoed, for up to 600ms (pairProbe). The pairs go out at
// once, one batch per sending pod; each result's evidence is its own command line.
func (p *Prober) PodPairs(ctx context.Context, pairs []doctor.NodePair) ([]doctor.PairResult, error) {
	running, err := RunningPods(ctx, p.Client)
	if err != nil {
		return nil, err
	}
	cases, err := pairCases(running, pairs, pairProbe)
	if err != nil {
		return nil, err
	}
	results, err := traffic.Run(ctx, p, cases)
	if olderProbe(err) {
		cases, _ = pairCases(running, pairs, olderPairProbe)
		results, err = traffic.Run(ctx, p, cases)
	}
	if err != nil {
		return nil, err
	}
	out := make([]doctor.PairResult, len(results))
	for i, r := range results {
		out[i] = doctor.PairResult{OK: r.OK, Evidence: doctor.Evidence{Source: r.Source, Output: r.Output}}
	}
	return out, nil
}

// pairProbe is how a pair probe sends: four datagrams when unanswered, enough packets for a
// dropping rule's counter to stand out from the other traffic it drops, and an echo of any of them
// counts until the end (a busy node's late answer is not a loss).
var pairProbe = []string{"udp", "--timeout", "600ms", "--resend", "150ms"}

// olderPairProbe is how a probe image older than `udp --resend` sends a pair probe: three
// datagrams, each waited for 300ms, 100ms apart (1.1s when unanswered).
var olderPairProbe = []string{"udp", "--timeout", "300ms", "--attempts", "3", "--pause", "100ms"}

// olderProbe reports whether err is a probe's refusal of `udp --resend` (an image older than it).
func olderProbe(err error) bool {
	return err != nil && strings.Contains(err.Error(), "flag provided but not defined: -resend")
}

// pairCases are the probes of pairs between the running probe pods, one on each node, each sent
// as probe (the udp command line but its target).
func pairCases(running []corev1.Pod, pairs []doctor.NodePair, probe []string) ([]traffic.Case, error) {
	on := map[string]corev1.Pod{}
	for _, pod := range running {
		if _, ok := on[pod.Spec.NodeName]; !ok && pod.Status.PodIP != "" {
			on[pod.Spec.NodeName] = pod
		}
	}
	cases := make([]traffic.Case, len(pairs))
	for i, pr := range pairs {
		src, ok := on[pr.From]
		if !ok {
			return nil, fmt.Errorf("no running netcert probe pod on node %s (namespace %s)", pr.From, Namespace)
		}
		dst, ok := on[pr.To]
		if !ok {
			return nil, fmt.Errorf("no running netcert probe pod on node %s (namespace %s)", pr.To, Namespace)
		}
		cases[i] = traffic.Case{Path: traffic.PodToPodCrossNode, Name: pr.From + " -> " + pr.To + " udp", Container: Container, To: pr.To,
			From: traffic.Pod{Namespace: src.Namespace, Name: src.Name, Node: pr.From, IP: src.Status.PodIP},
			Args: append(slices.Clone(probe), net.JoinHostPort(dst.Status.PodIP, UDPPort))}
	}
	return cases, nil
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
			res, ev, err := p.Run(ctx, pod, "dns", "--server", server, "--timeout", "1s", name)
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
