package faults

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// Where each CoreDNS pod listens in its own network namespace.
const loopTarget = "127.0.0.1:53"

// Inject rewrites the forward targets to loopTarget and restarts CoreDNS's pods. If
// CoreDNS keeps answering, it reverts and fails: the Corefile has no loop plugin.
func (f CoreDNSLoop) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("%s: no Kubernetes client", f.Name())
	}
	original, looped, err := corefileForwardingTo(ctx, c, loopTarget)
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
	if err := deleteCoreDNSPods(ctx, c, true); err != nil {
		return fail(err)
	}
	if err := waitCoreDNSCrashed(ctx, c, f.StopTimeout, f.PollInterval, "a looping Corefile: has its Corefile the loop plugin?"); err != nil {
		return fail(err)
	}
	return revert, nil
}

// waitCoreDNSCrashed waits until every CoreDNS pod has exited at least once and no old one is
// left terminating, which still answers through the Service in its lame-duck time (at most
// timeout, default 2m); why says, in the error, what should have stopped them.
func waitCoreDNSCrashed(ctx context.Context, c *Cluster, timeout, interval time.Duration, why string) error {
	running, crashed, old := 0, 0, 0
	err := pollCoreDNS(ctx, c, timeout, interval, func(pods []corev1.Pod, terminating int) bool {
		running, crashed, old = len(pods), 0, terminating
		for _, p := range pods {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.RestartCount > 0 {
					crashed++
					break
				}
			}
		}
		return running > 0 && crashed == running && terminating == 0
	})
	if errors.Is(err, errPollTimeout) {
		return fmt.Errorf("%d of %d CoreDNS pod(s) still run after %s (and %d old one(s) still terminating) with %s", running-crashed, running, orDefault(timeout, 2*time.Minute), old, why)
	}
	return err
}

// errPollTimeout is pollCoreDNS's error when the condition never held.
var errPollTimeout = errors.New("timed out")

// pollCoreDNS lists CoreDNS's pods every interval (default kube.DefaultPollInterval) until done
// holds of those not being deleted and the count of those that are, for at most timeout (default
// 2m).
func pollCoreDNS(ctx context.Context, c *Cluster, timeout, interval time.Duration, done func(pods []corev1.Pod, terminating int) bool) error {
	deadline := time.Now().Add(orDefault(timeout, 2*time.Minute))
	for {
		list, err := c.Client.CoreV1().Pods(kube.CoreDNSNamespace).List(ctx, metav1.ListOptions{LabelSelector: kube.CoreDNSSelector})
		if err != nil {
			return fmt.Errorf("read CoreDNS's pods: %w", err)
		}
		var pods []corev1.Pod
		terminating := 0
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				pods = append(pods, p)
			} else {
				terminating++
			}
		}
		if done(pods, terminating) {
			return nil
		}
		if time.Now().After(deadline) {
			return errPollTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(orDefault(interval, kube.DefaultPollInterval)):
		}
	}
}

// orDefault is d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
