package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Evict asks the API server to evict pod through the Eviction API, which honours the pod's
// PodDisruptionBudgets. A pod already gone counts as evicted; blocked reports that a budget
// allows no disruption now (ask again later), with the API server's reason.
func Evict(ctx context.Context, c kubernetes.Interface, pod corev1.Pod) (blocked string, err error) {
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}}
	err = c.CoreV1().Pods(pod.Namespace).EvictV1(ctx, ev)
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return "", nil
	case apierrors.IsTooManyRequests(err):
		return err.Error(), nil
	}
	return "", fmt.Errorf("evict pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// EvictionArgv is the kubectl command that asks for the same eviction, for plans people read.
func EvictionArgv(pod corev1.Pod) []string {
	body := fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":%q,"namespace":%q}}`, pod.Name, pod.Namespace)
	return []string{"sh", "-c", fmt.Sprintf("printf '%%s' '%s' | kubectl create --raw /api/v1/namespaces/%s/pods/%s/eviction -f -", body, pod.Namespace, pod.Name)}
}
