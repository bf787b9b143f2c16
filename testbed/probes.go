package testbed

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/netcert/netcert/probe"
)

// ProbePod is one running netcert probe pod.
type ProbePod struct {
	Name string
	Node string
	IP   string
	Set  string // "a" or "b": each node runs one pod of each set
}

// ProbePods lists the Ready probe pods, sorted by node then set.
func ProbePods(ctx context.Context, r *resources.Resources) ([]ProbePod, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, resources.WithLabelSelector(ProbeSelector)); err != nil {
		return nil, fmt.Errorf("list probe pods: %w", err)
	}
	var out []ProbePod
	for _, p := range pods.Items {
		if p.Namespace != Namespace || p.DeletionTimestamp != nil || p.Status.PodIP == "" {
			continue
		}
		out = append(out, ProbePod{Name: p.Name, Node: p.Spec.NodeName, IP: p.Status.PodIP, Set: p.Labels["netcert.io/probe-set"]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Set < out[j].Set
	})
	return out, nil
}

// Probe runs `netcert-probe ARGS...` inside pod and returns its one-line result. A probe that ran
// and found the target unreachable is a Result with OK false, not an error; an error means the
// probe could not be run at all.
func Probe(ctx context.Context, r *resources.Resources, pod string, args ...string) (probe.Result, error) {
	var stdout, stderr bytes.Buffer
	cmd := append([]string{"/netcert-probe"}, args...)
	execErr := r.ExecInPod(ctx, Namespace, pod, "probe", cmd, &stdout, &stderr)
	res, err := probe.ParseResult(bytes.TrimSpace(stdout.Bytes()))
	if err != nil {
		return probe.Result{}, fmt.Errorf("probe %s in %s: %v (exec: %v, stderr: %s)", strings.Join(args, " "), pod, err, execErr, stderr.String())
	}
	return res, nil
}
