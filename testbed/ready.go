package testbed

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/kube"
)

// ReadyTimeout bounds each readiness wait of Setup.
const ReadyTimeout = 5 * time.Minute

// readiness is one condition that Setup waits for.
type readiness struct {
	what string
	done func(context.Context) (bool, error)
}

// waitReady waits for the CNI, every node, CoreDNS and netcert's workloads to be Ready: pods that
// merely exist do not count.
func (c *Cluster) waitReady(ctx context.Context, envCfg *envconf.Config) error {
	r := envCfg.Client().Resources()
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	cni, err := cniFor(c.cfg.CNI)
	if err != nil {
		return err
	}
	cniWaits, err := cni.ready(r, c.cfg, len(nodes.Items))
	if err != nil {
		return err
	}
	if err := c.await(ctx, cniWaits); err != nil {
		return err
	}
	if err := c.restartUnstarted(ctx, r, kube.CoreDNSNamespace, kube.CoreDNSSelector); err != nil {
		return err
	}
	return c.await(ctx, []readiness{
		{"every node", nodesReady(r)},
		{"CoreDNS", deploymentReady(r, "kube-system", "coredns")},
		{"netcert probes (set a)", daemonSetReady(r, Namespace, "probe-a", len(nodes.Items))},
		{"netcert probes (set b)", daemonSetReady(r, Namespace, "probe-b", len(nodes.Items))},
		{"netcert DNS upstream", deploymentReady(r, Namespace, DNSUpstream)},
	})
}

// await waits for each condition in turn, and logs how long it waited.
func (c *Cluster) await(ctx context.Context, waits []readiness) error {
	for _, w := range waits {
		start := time.Now()
		if err := wait.For(w.done, wait.WithContext(ctx), wait.WithTimeout(ReadyTimeout), wait.WithInterval(time.Second)); err != nil {
			return fmt.Errorf("waiting for %s to be Ready: %w", w.what, err)
		}
		c.cfg.Logf("%s Ready (waited %s)", w.what, since(start))
	}
	return nil
}

// restartUnstarted deletes, once the CNI is Ready, the selected pods none of whose containers has
// started: on a new cluster they were placed on a node that turned Ready before its CNI could
// give them a network, and the kubelet tries their sandbox again only after a back-off of
// seconds; their replacements get a network at once.
func (c *Cluster) restartUnstarted(ctx context.Context, r *resources.Resources, namespace, selector string) error {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, resources.WithLabelSelector(selector)); err != nil {
		return fmt.Errorf("list the pods %s: %w", selector, err)
	}
	var restarted []string
	for _, p := range pods.Items {
		if p.Namespace != namespace || p.Spec.NodeName == "" || p.DeletionTimestamp != nil || started(p) {
			continue
		}
		if err := r.Delete(ctx, &p, resources.WithGracePeriod(0)); err != nil {
			return fmt.Errorf("restart pod %s/%s: %w", p.Namespace, p.Name, err)
		}
		restarted = append(restarted, p.Name)
	}
	if len(restarted) > 0 {
		c.cfg.Logf("restarted %v: placed before the CNI was up, none of their containers started", restarted)
	}
	return nil
}

// started reports whether a container of the pod has ever run.
func started(p corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

func nodesReady(r *resources.Resources) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		var nodes corev1.NodeList
		if err := r.List(ctx, &nodes); err != nil {
			return false, nil // the API server may be busy; retry until the timeout
		}
		for _, n := range nodes.Items {
			if !nodeReady(n) {
				return false, nil
			}
		}
		return len(nodes.Items) > 0, nil
	}
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// daemonSetReady: want pods scheduled, all of them up to date and Ready.
func daemonSetReady(r *resources.Resources, ns, name string, want int) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		var ds appsv1.DaemonSet
		if err := r.Get(ctx, name, ns, &ds); err != nil {
			return false, nil
		}
		ready, _ := kube.DaemonSetReady(&ds)
		return ready && int(ds.Status.DesiredNumberScheduled) == want, nil
	}
}

// deploymentReady: the latest rollout complete, every replica updated and Ready, no old pods left.
func deploymentReady(r *resources.Resources, ns, name string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		var d appsv1.Deployment
		if err := r.Get(ctx, name, ns, &d); err != nil {
			return false, nil
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want && s.Replicas == want, nil
	}
}
