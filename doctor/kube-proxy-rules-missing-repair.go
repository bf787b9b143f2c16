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

// kubeProxyLabel selects kube-proxy's pods (kubeadm's DaemonSet, kind's too).
const kubeProxyLabel = "k8s-app=kube-proxy"

// kubeProxyMirrorAnnotation marks a static pod's mirror: evicting it does not restart the pod.
const kubeProxyMirrorAnnotation = "kubernetes.io/config.mirror"

// Plan restarts kube-proxy on each node with a Fail finding, by evicting its pod: the new pod's
// first sync is a full one and rewrites every Service's chains. A node without a kube-proxy pod,
// or whose kube-proxy is a static pod, gets a manual step.
func (p KubeProxyRulesMissing) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	seen := map[string]bool{}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		if seen[f.Node] {
			continue
		}
		seen[f.Node] = true
		pod, err := kubeProxyPod(ctx, c.Client, f.Node)
		if err != nil {
			return plan, err
		}
		switch {
		case pod == nil:
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: no kube-proxy pod (label %s) runs on this node: restart whatever "+
				"programs its Service rules (e.g. `systemctl restart kube-proxy` on the node) so that it re-programs every Service", f.Node, kubeProxyLabel))
		case pod.Annotations[kubeProxyMirrorAnnotation] != "":
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: kube-proxy runs as the static pod %s/%s, which an eviction does not restart: "+
				"restart it on the node (move its manifest out of the kubelet's manifest directory and back)", f.Node, pod.Namespace, pod.Name))
		default:
			plan.Actions = append(plan.Actions, Action{
				Node:    f.Node,
				Object:  pod.Namespace + "/" + pod.Name,
				Summary: fmt.Sprintf("restart kube-proxy on %s so it re-programs every Service (a full sync)", f.Node),
			})
		}
	}
	return plan, nil
}

// Apply restarts kube-proxy on each planned node whose rules still fail: it evicts the node's
// kube-proxy pod (a PodDisruptionBudget may refuse), then waits until a new kube-proxy pod runs
// there and every Service port matches again. A node that already matches is not touched.
func (p KubeProxyRulesMissing) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	rec := Record{Check: plan.Check}
	if err := refuseManual(plan); err != nil {
		return rec, err
	}
	for _, a := range plan.Actions {
		step, err := p.restart(ctx, c, a)
		rec.Steps = append(rec.Steps, step)
		if err != nil {
			return rec, err
		}
		c.log().Info("repaired", "check", plan.Check, "node", a.Node, "changed", step.Changed)
	}
	return rec, nil
}

// restart carries out one action.
func (p KubeProxyRulesMissing) restart(ctx context.Context, c *Cluster, a Action) (Step, error) {
	step := Step{Action: a}
	n, err := c.nodeByName(a.Node)
	if err != nil {
		return step, err
	}
	exp, err := readKubeProxyExpectations(ctx, c.Client)
	if err != nil {
		return step, err
	}
	before, err := p.inspect(ctx, exp, n)
	if err != nil {
		return step, err
	}
	if len(Failed(before)) == 0 {
		step.Evidence = findingEvidence(before)
		return step, nil
	}
	old, err := kubeProxyPod(ctx, c.Client, a.Node)
	if err != nil {
		return step, err
	}
	if old == nil {
		return step, fmt.Errorf("%s on %s: no kube-proxy pod (label %s) runs on the node to restart", p.ID(), a.Node, kubeProxyLabel)
	}
	blocked, err := kube.Evict(ctx, c.Client, *old)
	switch {
	case err != nil:
		return step, fmt.Errorf("%s on %s: %w", p.ID(), a.Node, err)
	case blocked != "":
		return step, fmt.Errorf("%s on %s: evict kube-proxy pod %s/%s: the PodDisruptionBudget refused it: %s", p.ID(), a.Node, old.Namespace, old.Name, blocked)
	}
	step.Changed = true
	step.Evidence = append(step.Evidence, Evidence{Source: fmt.Sprintf("POST pods/%s/eviction -n %s (policy/v1)", old.Name, old.Namespace),
		Output: "evicted: the kube-proxy DaemonSet starts a new pod, whose first sync is a full one"})
	deadline := time.Now().Add(p.restartTimeout())
	for {
		state, done, err := p.restarted(ctx, c, a.Node, old)
		if err != nil {
			return step, err
		}
		if done != nil {
			step.Evidence = append(step.Evidence, done...)
			return step, nil
		}
		if time.Now().After(deadline) {
			return step, fmt.Errorf("%s on %s: %s after evicting kube-proxy pod %s/%s: %s",
				p.ID(), a.Node, p.restartTimeout(), old.Namespace, old.Name, state)
		}
		select {
		case <-ctx.Done():
			return step, ctx.Err()
		case <-time.After(p.pollInterval()):
		}
	}
}

// restarted reads the node once after the eviction: done holds the evidence when a new
// kube-proxy pod runs there and every Service port matches; otherwise state says what is not
// there yet.
func (p KubeProxyRulesMissing) restarted(ctx context.Context, c *Cluster, nodeName string, old *corev1.Pod) (state string, done []Evidence, err error) {
	pod, err := kubeProxyPod(ctx, c.Client, nodeName)
	if err != nil {
		return "", nil, err
	}
	switch {
	case pod == nil:
		return "no new kube-proxy pod on the node yet", nil, nil
	case pod.UID == old.UID && pod.Name == old.Name:
		return fmt.Sprintf("kube-proxy pod %s/%s is still the old one", pod.Namespace, pod.Name), nil, nil
	case pod.Status.Phase != corev1.PodRunning:
		return fmt.Sprintf("new kube-proxy pod %s/%s is %s", pod.Namespace, pod.Name, pod.Status.Phase), nil, nil
	}
	exp, err := readKubeProxyExpectations(ctx, c.Client)
	if err != nil {
		return "", nil, err
	}
	n, err := c.nodeByName(nodeName)
	if err != nil {
		return "", nil, err
	}
	after, err := p.inspect(ctx, exp, n)
	if err != nil {
		return "", nil, err
	}
	if failed := Failed(after); len(failed) > 0 {
		return fmt.Sprintf("new kube-proxy pod %s/%s runs, but %d Service ports still fail, e.g. %s: %s",
			pod.Namespace, pod.Name, len(failed), failed[0].Object, failed[0].Summary), nil, nil
	}
	done = append([]Evidence{{Source: fmt.Sprintf("GET pods -l %s --field-selector spec.nodeName=%s", kubeProxyLabel, nodeName),
		Output: fmt.Sprintf("%s/%s is Running", pod.Namespace, pod.Name)}}, findingEvidence(after)...)
	return "", done, nil
}

// kubeProxyPod returns the kube-proxy pod on the node that is not being deleted, or nil.
func kubeProxyPod(ctx context.Context, client kubernetes.Interface, nodeName string) (*corev1.Pod, error) {
	if client == nil {
		return nil, fmt.Errorf("kube-proxy-rules-missing needs the Kubernetes API (Cluster.Client)")
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: kubeProxyLabel,
		FieldSelector: "spec.nodeName=" + nodeName})
	if err != nil {
		return nil, fmt.Errorf("list kube-proxy pods on %s: %w", nodeName, err)
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

// findingEvidence returns the evidence of the findings, with their summaries.
func findingEvidence(findings []Finding) []Evidence {
	var out []Evidence
	for _, f := range findings {
		for _, ev := range f.Evidence {
			out = append(out, Evidence{Source: ev.Source, Output: f.Summary + ": " + ev.Output})
		}
	}
	return out
}
