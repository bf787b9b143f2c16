package testbed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/kube"
)

// newPodName is the pod the test bed creates to see whether a node starts new pods; faults that
// break only what the CNI sets up next (a stale Flannel subnet, a disabled Calico pool) show there.
const newPodName = "netcert-new-pod"

// newPodStarts creates a probe pod on the node, waits up to wait for it to be Ready (its
// readiness probe reaches it over the pod network), or until the CNI refuses its sandbox
// (FailedCreatePodSandBox), and deletes it. It returns whether it became Ready and, if not, why:
// the kubelet's warnings for it.
func (c *Cluster) newPodStarts(ctx context.Context, cfg *envconf.Config, nodeName string, wait time.Duration) (bool, string, error) {
	client, err := kubernetes.NewForConfig(restConfig(cfg))
	if err != nil {
		return false, "", err
	}
	pods := client.CoreV1().Pods(Namespace)
	grace := int64(0)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: newPodName, Namespace: Namespace, Labels: map[string]string{"app.kubernetes.io/name": newPodName}},
		Spec: corev1.PodSpec{NodeName: nodeName, TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{
			Name: "probe", Image: c.cfg.Images.Probe, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/netcert-probe", "serve"},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}},
		}}}}
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("create pod %s/%s on %s: %w", Namespace, newPodName, nodeName, err)
	}
	defer c.deleteNewPod(client)
	deadline := time.Now().Add(wait)
	for {
		p, err := pods.Get(ctx, newPodName, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		if kube.PodReady(*p) {
			return true, "", nil
		}
		// The kubelet's warnings; a sandbox the CNI refused settles it at once.
		events, err := client.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(created.UID)})
		if err != nil {
			return false, "", err
		}
		var why []string
		sandbox := false
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning {
				why = append(why, e.Reason+": "+e.Message)
				sandbox = sandbox || e.Reason == "FailedCreatePodSandBox"
			}
		}
		if sandbox || time.Now().After(deadline) {
			return false, fmt.Sprintf("not Ready after %s; %s", time.Since(created.CreationTimestamp.Time).Round(time.Second), strings.Join(why, "; ")), nil
		}
		select {
		case <-ctx.Done():
			return false, "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// deleteNewPod deletes the pod and waits until it is gone, so that the next one can take its name.
func (c *Cluster) deleteNewPod(client kubernetes.Interface) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods := client.CoreV1().Pods(Namespace)
	grace := int64(0)
	_ = pods.Delete(ctx, newPodName, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	for ctx.Err() == nil {
		if _, err := pods.Get(ctx, newPodName, metav1.GetOptions{}); err != nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// requireNewPodFails requires that a new pod on the node does not start: the symptom of faults
// in what the CNI sets up for the next pod.
func (c *Cluster) requireNewPodFails(ctx context.Context, t T, cfg *envconf.Config, nodeName string) {
	t.Helper()
	ok, why, err := c.newPodStarts(ctx, cfg, nodeName, 20*time.Second)
	require.NoError(t, err)
	require.False(t, ok, "a new pod on %s started: the fault broke nothing the next pod needs", nodeName)
	c.cfg.Logf("a new pod on %s does not start: %s", nodeName, why)
}

// requireNewPodStarts requires that a new pod on the node becomes Ready.
func (c *Cluster) requireNewPodStarts(ctx context.Context, t T, cfg *envconf.Config, nodeName string) {
	t.Helper()
	ok, why, err := c.newPodStarts(ctx, cfg, nodeName, 90*time.Second)
	require.NoError(t, err)
	require.True(t, ok, "a new pod on %s: %s", nodeName, why)
}
