package kube

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Where CoreDNS lives in a kubeadm (and kind) cluster.
const (
	CoreDNSNamespace  = "kube-system"
	CoreDNSConfigMap  = "coredns"
	CoreDNSDeployment = "coredns"
	CorefileKey       = "Corefile"
	CoreDNSSelector   = "k8s-app=kube-dns" // CoreDNS's pods and Service, as kubeadm labels them
)

// CorefileHashAnnotation is set on CoreDNS's pod template to the SHA-256 of the Corefile in force:
// changing it rolls CoreDNS, so a new Corefile takes effect at once instead of at the next reload.
const CorefileHashAnnotation = "netcert.io/corefile-sha256"

// Default rollout bounds. DefaultPollInterval also paces netcert's other waits on the API (pods
// restarted, rules back): one small GET each time, so short enough not to add seconds.
const (
	DefaultRolloutTimeout = 2 * time.Minute
	DefaultPollInterval   = 500 * time.Millisecond
)

// SHA256 returns the hex SHA-256 of s.
func SHA256(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

// SetTemplateAnnotation sets key=value on the pod template of Deployment namespace/name, which
// starts a rollout when the value changes. It reports whether it changed anything.
func SetTemplateAnnotation(ctx context.Context, c kubernetes.Interface, namespace, name, key, value string) (bool, error) {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Spec.Template.Annotations[key] == value {
			changed = false
			return nil
		}
		if d.Spec.Template.Annotations == nil {
			d.Spec.Template.Annotations = map[string]string{}
		}
		d.Spec.Template.Annotations[key] = value
		_, err = c.AppsV1().Deployments(namespace).Update(ctx, d, metav1.UpdateOptions{})
		changed = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("annotate deployment %s/%s: %w", namespace, name, err)
	}
	return changed, nil
}

// RemoveTemplateAnnotation takes key off the pod template of Deployment namespace/name (a
// rollout follows); with dryRun it only looks. It reports whether the annotation was there.
func RemoveTemplateAnnotation(ctx context.Context, c kubernetes.Interface, namespace, name, key string, dryRun bool) (bool, error) {
	present := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			present = false
			return nil
		}
		if err != nil {
			return err
		}
		_, present = d.Spec.Template.Annotations[key]
		if !present || dryRun {
			return nil
		}
		delete(d.Spec.Template.Annotations, key)
		_, err = c.AppsV1().Deployments(namespace).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remove annotation %s from deployment %s/%s: %w", key, namespace, name, err)
	}
	return present, nil
}

// RolloutComplete reports whether every replica of d runs its latest pod template and is ready,
// and if not, what is missing. It mirrors `kubectl rollout status`.
func RolloutComplete(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return false, fmt.Sprintf("generation %d not yet observed (observed %d)", d.Generation, s.ObservedGeneration)
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.ReadyReplicas < want || s.AvailableReplicas < want:
		return false, fmt.Sprintf("%d of %d updated replicas ready, %d available", s.ReadyReplicas, want, s.AvailableReplicas)
	}
	return true, fmt.Sprintf("%d of %d replicas updated and ready (generation %d)", s.UpdatedReplicas, want, d.Generation)
}

// WaitForRollout polls Deployment namespace/name every interval until its rollout is complete and
// no old pod is left terminating, for at most timeout (zero values take the defaults). It returns the final state in words.
func WaitForRollout(ctx context.Context, c kubernetes.Interface, namespace, name string, timeout, interval time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultRolloutTimeout
	}
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	var state string
	var deadline error
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		done, why := RolloutComplete(d)
		state = why
		if done {
			// Old pods still serve while they terminate (CoreDNS's lameduck): not done until gone.
			n, err := terminatingPods(ctx, c, d)
			if err != nil {
				return false, err
			}
			if n > 0 {
				state = fmt.Sprintf("%s; %d old pod(s) still terminating", why, n)
				return false, nil
			}
			return true, nil
		}
		if d.Status.ObservedGeneration < d.Generation {
			return false, nil
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "ProgressDeadlineExceeded" {
				deadline = fmt.Errorf("progress deadline exceeded: %s", cond.Message)
				return false, deadline
			}
		}
		return false, nil
	})
	if err == nil {
		return state, nil
	}
	if deadline == nil && wait.Interrupted(err) && ctx.Err() == nil {
		return state, fmt.Errorf("deployment %s/%s not rolled out after %s: %s", namespace, name, timeout, state)
	}
	return state, fmt.Errorf("roll out deployment %s/%s: %w", namespace, name, err)
}

// terminatingPods counts the Deployment's pods that are being deleted.
func terminatingPods(ctx context.Context, c kubernetes.Interface, d *appsv1.Deployment) (int, error) {
	pods, err := deploymentPods(ctx, c, d)
	n := 0
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			n++
		}
	}
	return n, err
}

// deploymentPods lists the pods of the Deployment's selector (its template's labels without one).
func deploymentPods(ctx context.Context, c kubernetes.Interface, d *appsv1.Deployment) ([]corev1.Pod, error) {
	selector := labels.SelectorFromSet(d.Spec.Template.Labels)
	if d.Spec.Selector != nil {
		var err error
		if selector, err = metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
			return nil, fmt.Errorf("deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
	}
	if selector.Empty() {
		return nil, fmt.Errorf("deployment %s/%s selects no pods by label", d.Namespace, d.Name)
	}
	pods, err := c.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("list the pods of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	return pods.Items, nil
}

// RollCoreDNS rolls the CoreDNS Deployment so that corefile is in force: it sets the pod-template
// annotation to the Corefile's hash (a no-op when it is already set) and waits for the rollout.
// It reports whether it changed the Deployment and the final rollout state.
//
// When the annotation already names the Corefile (the Corefile was changed, then changed back,
// without a rollout), pods that are not ready — crash-looping on a Corefile in force before — are
// restarted through the Eviction API: their replacements read this one, instead of the old ones
// coming back only when their crash-loop back-off ends. Ready pods reload it themselves.
func RollCoreDNS(ctx context.Context, c kubernetes.Interface, corefile string, timeout, interval time.Duration) (bool, string, error) {
	changed, err := SetTemplateAnnotation(ctx, c, CoreDNSNamespace, CoreDNSDeployment, CorefileHashAnnotation, SHA256(corefile))
	if err != nil {
		return false, "", err
	}
	if !changed {
		evicted, err := evictUnready(ctx, c, CoreDNSNamespace, CoreDNSDeployment)
		if err != nil {
			return false, "", err
		}
		changed = evicted > 0
	}
	state, err := WaitForRollout(ctx, c, CoreDNSNamespace, CoreDNSDeployment, timeout, interval)
	return changed, state, err
}

// evictUnready evicts the Deployment's pods that are not ready and not already going, and says
// how many it evicted (a budget that blocks one leaves it to its back-off).
func evictUnready(ctx context.Context, c kubernetes.Interface, namespace, name string) (int, error) {
	d, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("read deployment %s/%s: %w", namespace, name, err)
	}
	pods, err := deploymentPods(ctx, c, d)
	if err != nil {
		return 0, err
	}
	evicted := 0
	for _, p := range pods {
		if p.DeletionTimestamp != nil || PodReady(p) {
			continue
		}
		blocked, err := Evict(ctx, c, p)
		if err != nil {
			return evicted, err
		}
		if blocked == "" {
			evicted++
		}
	}
	return evicted, nil
}

// PodReady reports whether the pod's Ready condition is true.
func PodReady(p corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
