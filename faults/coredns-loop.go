package faults

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
)

// CoreDNSLoop points every forward directive of CoreDNS's Corefile at the pod's own loopback
// address (127.0.0.1:53, where CoreDNS itself listens), as a Corefile copied from a host with a
// local stub resolver does: the loop plugin sees its probe come back and stops CoreDNS, whose pods
// crash-loop. (Through CoreDNS's Service the loop is as real, but the loop plugin catches it only
// by chance: its probe may come back answered first.) Inject restarts CoreDNS's pods so they
// read the looping Corefile at once, and returns when the loop plugin has stopped each. Revert
// restores the original Corefile byte for byte and rolls CoreDNS.
type CoreDNSLoop struct {
	// StopTimeout bounds the wait for CoreDNS to stop answering (default 2m); RolloutTimeout and
	// PollInterval are the revert's rollout wait, as for CoreDNSForwardBroken.
	StopTimeout, RolloutTimeout, PollInterval time.Duration
}

// Name returns "coredns-loop".
func (CoreDNSLoop) Name() string { return "coredns-loop" }

// AppliesTo: CoreDNS runs with every CNI.
func (CoreDNSLoop) AppliesTo(string) bool { return true }

// CoreDNS's pods, as kubeadm labels them, and where each listens in its own network namespace.
const (
	corednsPods = "k8s-app=kube-dns"
	loopTarget  = "127.0.0.1:53"
)

// Inject rewrites the forward targets to loopTarget and restarts CoreDNS's pods. If
// CoreDNS keeps answering, it reverts and fails: the Corefile has no loop plugin.
func (f CoreDNSLoop) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("%s: no Kubernetes client", f.Name())
	}
	cm, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: read the Corefile: %w", f.Name(), err)
	}
	original, ok := cm.Data[kube.CorefileKey]
	if !ok {
		return nil, fmt.Errorf("%s: configmap %s/%s has no %s", f.Name(), kube.CoreDNSNamespace, kube.CoreDNSConfigMap, kube.CorefileKey)
	}
	looped, err := forwardTo(original, loopTarget)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	restore := CoreDNSForwardBroken{RolloutTimeout: f.RolloutTimeout, PollInterval: f.PollInterval}
	revert := func(ctx context.Context) error {
		if err := restore.setCorefile(ctx, c, original, ""); err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	}
	fail := func(err error) (Revert, error) {
		return nil, errors.Join(fmt.Errorf("%s: %w", f.Name(), err), revert(context.WithoutCancel(ctx)))
	}
	if err := writeCorefile(ctx, c, looped, original); err != nil {
		return fail(err)
	}
	pods := c.Client.CoreV1().Pods(kube.CoreDNSNamespace)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: corednsPods}); err != nil {
		return fail(fmt.Errorf("restart CoreDNS's pods: %w", err))
	}
	if err := f.waitCrashed(ctx, c); err != nil {
		return fail(err)
	}
	return revert, nil
}

// waitCrashed waits until every CoreDNS pod has been stopped by the loop plugin at least once.
func (f CoreDNSLoop) waitCrashed(ctx context.Context, c *Cluster) error {
	timeout, interval := f.StopTimeout, f.PollInterval
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	if interval == 0 {
		interval = 2 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		pods, err := c.Client.CoreV1().Pods(kube.CoreDNSNamespace).List(ctx, metav1.ListOptions{LabelSelector: corednsPods})
		if err != nil {
			return fmt.Errorf("read CoreDNS's pods: %w", err)
		}
		running, crashed := 0, 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			running++
			for _, cs := range p.Status.ContainerStatuses {
				if cs.RestartCount > 0 {
					crashed++
					break
				}
			}
		}
		if running > 0 && crashed == running {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d CoreDNS pod(s) still run after %s with a looping Corefile: has its Corefile the loop plugin?", running-crashed, running, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
