package node

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AgentLifetime says how long the agent stays: for one run of netcert (created and removed by
// it), or standing (`netcert agent install`, until `netcert agent remove`).
type AgentLifetime string

const (
	AgentForRun   AgentLifetime = "run"
	AgentStanding AgentLifetime = "standing"
)

// lifetimeAnnotation marks netcert's agent objects with their AgentLifetime.
const lifetimeAnnotation = "netcert.io/agent-lifetime"

// AgentNamespaceObject is the agent's own namespace: nothing else of netcert's lives there, so
// removing it removes everything the agent brought. Its Pod Security labels say, for the
// cluster's admission and its readers, that it holds privileged pods.
func AgentNamespaceObject(lifetime AgentLifetime) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: AgentNamespace,
		Labels: map[string]string{
			"app.kubernetes.io/managed-by":       "netcert",
			"pod-security.kubernetes.io/enforce": "privileged",
			"pod-security.kubernetes.io/warn":    "privileged",
			"pod-security.kubernetes.io/audit":   "privileged",
		},
		Annotations: map[string]string{lifetimeAnnotation: string(lifetime)},
	}}
}

// AgentServiceAccount is the agent's identity: bound to no role, and its token is never mounted.
func AgentServiceAccount() *corev1.ServiceAccount {
	automount := false
	return &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Namespace: AgentNamespace, Name: AgentName},
		AutomountServiceAccountToken: &automount,
	}
}

// AgentDaemonSet is netcert's node agent: on every node, every taint tolerated, a privileged pod
// in the host's PID and network namespaces that idles until netcert runs a command through it. It
// has no API rights and no token: netcert execs into it, it never calls the API.
func AgentDaemonSet(image string, lifetime AgentLifetime) *appsv1.DaemonSet {
	labels := map[string]string{"app.kubernetes.io/name": AgentName}
	privileged, automount, grace := true, false, int64(1)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: AgentNamespace, Name: AgentName, Labels: labels,
			Annotations: map[string]string{lifetimeAnnotation: string(lifetime)}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            AgentName,
					AutomountServiceAccountToken:  &automount,
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
