package testbed

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/podprobe"
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

// NewProber returns a prober for the cluster of an e2e-framework configuration.
func NewProber(cfg *envconf.Config) (*podprobe.Prober, error) {
	client, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &podprobe.Prober{Config: cfg.Client().RESTConfig(), Client: client}, nil
}

// Probe runs `netcert-probe ARGS...` in probe pod from; see podprobe.Prober.Run.
func Probe(ctx context.Context, p *podprobe.Prober, from ProbePod, args ...string) (probe.Result, error) {
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: from.Name, Namespace: Namespace}, Spec: corev1.PodSpec{NodeName: from.Node}}
	res, _, err := p.Run(ctx, pod, args...)
	return res, err
}
