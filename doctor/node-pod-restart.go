package doctor

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netcert/netcert/kube"
)

// nodeAgent is a per-node workload (a DaemonSet's pods, by label) that a repair restarts on one
// node by evicting its pod there: kube-proxy, kube-flannel.
type nodeAgent struct {
	label string // e.g. k8s-app=kube-proxy
	name  string // for people: "kube-proxy"
}

// on returns the agent's pod on the node that is not being deleted (the newest), or nil.
func (a nodeAgent) on(ctx context.Context, client kubernetes.Interface, nodeName string) (*corev1.Pod, error) {
	if client == nil {
		return nil, fmt.Errorf("restarting %s needs the Kubernetes API (Cluster.Client)", a.name)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: a.label, FieldSelector: "spec.nodeName=" + nodeName})
	if err != nil {
		return nil, fmt.Errorf("list %s pods on %s: %w", a.name, nodeName, err)
	}
	var live []corev1.Pod
	for _, pod := range pods.Items {
		if pod.Spec.NodeName == nodeName && pod.DeletionTimestamp == nil &&
			pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			live = append(live, pod)
		}
	}
	if len(live) == 0 {
		return nil, nil
	}
	sort.Slice(live, func(i, j int) bool { return live[i].CreationTimestamp.After(live[j].CreationTimestamp.Time) })
	return &live[0], nil
}

// restart evicts old (the agent's pod on the node; a PodDisruptionBudget may refuse) and waits,
// polling, until a new pod of the agent runs there and healed, called with it, reports done. A
// state is what is not there yet, for the error when the timeout passes. The evidence is empty
// when nothing was evicted.
func (a nodeAgent) restart(ctx context.Context, c *Cluster, nodeName string, old *corev1.Pod, timeout, poll time.Duration,
	healed func(ctx context.Context, pod *corev1.Pod) (state string, done []Evidence, err error)) ([]Evidence, error) {
	blocked, err := kube.Evict(ctx, c.Client, *old)
	switch {
	case err != nil:
		return nil, err
	case blocked != "":
		return nil, fmt.Errorf("evict %s pod %s/%s: the PodDisruptionBudget refused it: %s", a.name, old.Namespace, old.Name, blocked)
	}
	evidence := []Evidence{{Source: fmt.Sprintf("POST pods/%s/eviction -n %s (policy/v1)", old.Name, old.Namespace),
		Output: fmt.Sprintf("evicted: its DaemonSet starts a new %s pod on %s", a.name, nodeName)}}
	deadline := time.Now().Add(timeout)
	for {
		state, done, err := a.restarted(ctx, c, nodeName, old, healed)
		if err != nil {
			return evidence, err
		}
		if done != nil {
			return append(evidence, done...), nil
		}
		if time.Now().After(deadline) {
			return evidence, fmt.Errorf("%s after evicting %s pod %s/%s: %s", timeout, a.name, old.Namespace, old.Name, state)
		}
		select {
		case <-ctx.Done():
			return evidence, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// restarted reads the node once after the eviction.
func (a nodeAgent) restarted(ctx context.Context, c *Cluster, nodeName string, old *corev1.Pod,
	healed func(ctx context.Context, pod *corev1.Pod) (string, []Evidence, error)) (string, []Evidence, error) {
	pod, err := a.on(ctx, c.Client, nodeName)
	switch {
	case err != nil:
		return "", nil, err
	case pod == nil:
		return fmt.Sprintf("no new %s pod on the node yet", a.name), nil, nil
	case pod.UID == old.UID && pod.Name == old.Name:
		return fmt.Sprintf("%s pod %s/%s is still the old one", a.name, pod.Namespace, pod.Name), nil, nil
	case pod.Status.Phase != corev1.PodRunning:
		return fmt.Sprintf("new %s pod %s/%s is %s", a.name, pod.Namespace, pod.Name, pod.Status.Phase), nil, nil
	}
	state, done, err := healed(ctx, pod)
	if err != nil || done == nil {
		return state, nil, err
	}
	return "", append([]Evidence{{Source: fmt.Sprintf("GET pods -l %s --field-selector spec.nodeName=%s", a.label, nodeName),
		Output: fmt.Sprintf("%s/%s is Running", pod.Namespace, pod.Name)}}, done...), nil
}
