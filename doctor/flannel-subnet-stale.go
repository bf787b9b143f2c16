package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// FlannelSubnetStale is the check and repair for flannel-subnet-stale: a node's
// /run/flannel/subnet.env, which Flannel's CNI plugin reads for every new pod, disagrees with the
// node's lease (its podCIDR, which flanneld writes there when it starts). Running pods keep
// working; a new pod is given an address outside the node's range, or none (the bridge plugin:
// cni0 "already has an IP address different from" the stale gateway). The repair restarts
// kube-flannel on the node, which writes the file from the lease again.
type FlannelSubnetStale struct{}

// ID returns "flannel-subnet-stale".
func (FlannelSubnetStale) ID() string { return "flannel-subnet-stale" }

// flannelSubnetFile is where flanneld writes the node's subnet for the CNI plugin.
const flannelSubnetFile = "/run/flannel/subnet.env"

// kubeFlannel is Flannel's DaemonSet, whose pod the repair restarts.
var kubeFlannel = nodeAgent{label: "app=flannel", name: "kube-flannel"}

func (p FlannelSubnetStale) inspect(ctx context.Context, c *Cluster, n node.Node, podCIDRs map[string][]netip.Prefix) (Finding, error) {
	f := Finding{Check: p.ID(), Node: n.Name(), Object: "file" + flannelSubnetFile}
	out, ev, err := run(ctx, n, "cat", flannelSubnetFile)
	f.Evidence = []Evidence{ev}
	if code, ran := node.ExitCode(err); ran && code != 0 {
		f.Status, f.Summary = Fail, flannelSubnetFile+" is missing: flanneld has not written the node's subnet, and the CNI plugin sets up no new pod"
		return f, nil
	} else if err != nil {
		return f, err
	}
	subnet, ok := envValue(out, "FLANNEL_SUBNET")
	gw, perr := netip.ParsePrefix(subnet)
	if !ok || perr != nil {
		f.Status, f.Summary = Fail, fmt.Sprintf("%s holds no valid FLANNEL_SUBNET (%q): the CNI plugin sets up no new pod", flannelSubnetFile, subnet)
		return f, nil
	}
	leases := podCIDRs[n.Name()]
	if len(leases) == 0 {
		f.Status, f.Summary = NotApplicable, "the node has no podCIDR in the API to compare with"
		return f, nil
	}
	for _, l := range leases {
		if gw.Masked() == l {
			f.Status, f.Summary = Pass, fmt.Sprintf("FLANNEL_SUBNET=%s is the node's podCIDR %s", subnet, l)
			return f, nil
		}
	}
	f.Status = Fail
	f.Summary = fmt.Sprintf("%s says FLANNEL_SUBNET=%s but the node's lease (podCIDR) is %s: new pods get addresses outside it or none; running pods are unaffected%s",
		flannelSubnetFile, subnet, prefixesText(leases), stuckPods(ctx, c, n.Name()))
	return f, nil
}

// envValue reads KEY=value from an environment file.
func envValue(text, key string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

func prefixesText(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// leases reads every node's podCIDRs: Flannel's leases in its Kubernetes subnet manager.
func leases(ctx context.Context, c *Cluster) (map[string][]netip.Prefix, error) {
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := map[string][]netip.Prefix{}
	for _, n := range nodes.Items {
		for _, s := range kube.PodCIDRs(&n) {
			if p, err := netip.ParsePrefix(s); err == nil {
				out[n.Name] = append(out[n.Name], p.Masked())
			}
		}
	}
	return out, nil
}

// Run compares every node's subnet file with its podCIDR; on other CNIs it is not applicable.
func (p FlannelSubnetStale) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	if c.CNI != "flannel" {
		return []Finding{{Check: p.ID(), Status: NotApplicable, Summary: fmt.Sprintf("the CNI is %s, not Flannel", orUnknown(c.CNI))}}, nil
	}
	podCIDRs, err := leases(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	return perNode(ctx, c, func(ctx context.Context, n node.Node) (Finding, error) { return p.inspect(ctx, c, n, podCIDRs) })
}

// Plan restarts kube-flannel on each failing node.
func (p FlannelSubnetStale) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		pod, err := kubeFlannel.on(ctx, c.Client, f.Node)
		if err != nil {
			return plan, err
		}
		if pod == nil {
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: no kube-flannel pod (label %s) runs on the node: start Flannel there; it writes %s from the node's lease", f.Node, kubeFlannel.label, flannelSubnetFile))
			continue
		}
		plan.Actions = append(plan.Actions, Action{Node: f.Node, Object: pod.Namespace + "/" + pod.Name,
			Summary: fmt.Sprintf("restart kube-flannel on %s (evict %s/%s): flanneld writes %s from the node's lease when it starts; pods waiting for their network are set up again by the kubelet", f.Node, pod.Namespace, pod.Name, flannelSubnetFile)})
	}
	return plan, nil
}

// flannelRestartTimeout bounds the wait for the new kube-flannel pod and a matching file.
const flannelRestartTimeout = 2 * time.Minute

// Apply restarts kube-flannel where the file still disagrees, and waits for it to agree.
func (p FlannelSubnetStale) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	rec := Record{Check: plan.Check}
	if err := refuseManual(plan); err != nil {
		return rec, err
	}
	for _, a := range plan.Actions {
		step := Step{Action: a}
		n, err := c.nodeByName(a.Node)
		if err != nil {
			return rec, err
		}
		podCIDRs, err := leases(ctx, c)
		if err != nil {
			return rec, err
		}
		before, err := p.inspect(ctx, c, n, podCIDRs)
		if err != nil {
			return rec, err
		}
		if before.Status == Pass {
			step.Evidence = before.Evidence
			rec.Steps = append(rec.Steps, step)
			continue
		}
		old, err := kubeFlannel.on(ctx, c.Client, a.Node)
		if err != nil || old == nil {
			return rec, fmt.Errorf("%s on %s: no kube-flannel pod to restart (%v)", p.ID(), a.Node, err)
		}
		step.Evidence, err = kubeFlannel.restart(ctx, c, a.Node, old, flannelRestartTimeout, kube.DefaultPollInterval, func(ctx context.Context, pod *corev1.Pod) (string, []Evidence, error) {
			after, err := p.inspect(ctx, c, n, podCIDRs)
			if err != nil || after.Status != Pass {
				return after.Summary, nil, err
			}
			return "", after.Evidence, nil
		})
		step.Changed = len(step.Evidence) > 0
		rec.Steps = append(rec.Steps, step)
		if err != nil {
			return rec, fmt.Errorf("%s on %s: %w", p.ID(), a.Node, err)
		}
		c.log().Info("repaired", "check", plan.Check, "node", a.Node, "changed", step.Changed)
	}
	return rec, nil
}
