package doctor

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// kubeProxyLabel selects kube-proxy's pods (kubeadm's DaemonSet, kind's too).
const kubeProxyLabel = "k8s-app=kube-proxy"

// kubeProxy is kube-proxy's DaemonSet, whose pod a repair restarts.
var kubeProxy = nodeAgent{label: kubeProxyLabel, name: "kube-proxy"}

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
		pod, err := kubeProxy.on(ctx, c.Client, f.Node)
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
	old, err := kubeProxy.on(ctx, c.Client, a.Node)
	if err != nil {
		return step, err
	}
	if old == nil {
		return step, fmt.Errorf("%s on %s: no kube-proxy pod (label %s) runs on the node to restart", p.ID(), a.Node, kubeProxyLabel)
	}
	step.Evidence, err = kubeProxy.restart(ctx, c, a.Node, old, p.restartTimeout(), p.pollInterval(), func(ctx context.Context, pod *corev1.Pod) (string, []Evidence, error) {
		exp, err := readKubeProxyExpectations(ctx, c.Client)
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
		return "", findingEvidence(after), nil
	})
	step.Changed = len(step.Evidence) > 0 // the eviction went through
	if err != nil {
		return step, fmt.Errorf("%s on %s: %w", p.ID(), a.Node, err)
	}
	return step, nil
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
