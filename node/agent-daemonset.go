package node

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netcert/netcert/kube"
)

// AgentDaemonSet is netcert's node agent: on every node, every taint tolerated, a privileged pod
// in the host's PID and network namespaces that idles until netcert runs a command through it.
func AgentDaemonSet(image string) *appsv1.DaemonSet {
	labels := map[string]string{"app.kubernetes.io/name": AgentName}
	privileged, grace := true, int64(1)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: AgentNamespace, Name: AgentName, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostPID:                       true,
					HostNetwork:                   true,
					Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name:            agentContainer,
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
					}},
				},
			},
		},
	}
}

// InstallAgent creates netcert's namespace if need be and the agent DaemonSet (or updates its
// image), and waits up to timeout for an agent to run on every node.
func InstallAgent(ctx context.Context, client kubernetes.Interface, image string, timeout time.Duration) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: AgentNamespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", AgentNamespace, err)
	}
	want := AgentDaemonSet(image)
	dsClient := client.AppsV1().DaemonSets(AgentNamespace)
	got, err := dsClient.Get(ctx, AgentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = dsClient.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		got.Spec.Template = want.Spec.Template
		_, err = dsClient.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("install DaemonSet %s/%s: %w", AgentNamespace, AgentName, err)
	}
	if err := kube.WaitForDaemonSets(ctx, client, AgentNamespace, []string{AgentName}, timeout); err != nil {
		return fmt.Errorf("netcert agent: %w: is image %s available to the nodes?", err, image)
	}
	return nil
}

// RemoveAgent deletes the agent DaemonSet; the namespace stays (netcert's probes may live there).
func RemoveAgent(ctx context.Context, client kubernetes.Interface) error {
	err := client.AppsV1().DaemonSets(AgentNamespace).Delete(ctx, AgentName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete DaemonSet %s/%s: %w", AgentNamespace, AgentName, err)
	}
	return nil
}
