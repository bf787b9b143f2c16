package kube

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// DaemonSetReady reports whether ds has pods scheduled, all of them up to date and Ready, and
// if not, how far it is.
func DaemonSetReady(ds *appsv1.DaemonSet) (bool, string) {
	s := ds.Status
	ready := s.ObservedGeneration >= ds.Generation && s.DesiredNumberScheduled > 0 &&
		s.NumberReady == s.DesiredNumberScheduled && s.UpdatedNumberScheduled == s.DesiredNumberScheduled
	return ready, fmt.Sprintf("%s: %d of %d ready and up to date", ds.Name, min(s.NumberReady, s.UpdatedNumberScheduled), s.DesiredNumberScheduled)
}

// WaitForDaemonSets polls the DaemonSets names in namespace every second until each is Ready
// (DaemonSetReady), for at most timeout. A read that fails is retried. On a timeout the error
// says what was seen last.
func WaitForDaemonSets(ctx context.Context, c kubernetes.Interface, namespace string, names []string, timeout time.Duration) error {
	var state string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			ds, err := c.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				if state == "" { // keep what was seen last: the final read may fail only for the deadline
					state = name + ": cannot read it: " + err.Error()
				}
				return false, nil // the API server may be busy; retry until the timeout
			}
			ready, why := DaemonSetReady(ds)
			state = why
			if !ready {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("waiting for DaemonSets in %s (%s): %w", namespace, state, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("not Ready on every node after %s (%s)", timeout, state)
	}
	return nil
}
