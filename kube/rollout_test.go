package kube_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
)

func TestRolloutComplete(t *testing.T) {
	d := kubetest.CoreDNS(2)
	done, why := kube.RolloutComplete(d)
	assert.True(t, done)
	assert.Equal(t, "2 of 2 replicas updated and ready (generation 1)", why)

	for name, mutate := range map[string]func(*appsv1.Deployment){
		"generation 2 not yet observed (observed 1)": func(d *appsv1.Deployment) { d.Generation = 2 },
		"1 of 2 replicas updated":                    func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 },
		"1 old replicas pending termination":         func(d *appsv1.Deployment) { d.Status.Replicas = 3 },
		"1 of 2 updated replicas ready, 2 available": func(d *appsv1.Deployment) { d.Status.ReadyReplicas = 1 },
		"2 of 2 updated replicas ready, 0 available": func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 0 },
	} {
		d := kubetest.CoreDNS(2)
		mutate(d)
		done, why := kube.RolloutComplete(d)
		assert.False(t, done, name)
		assert.Equal(t, name, why)
	}
}

func TestRollCoreDNSAnnotatesAndWaits(t *testing.T) {
	cs := fake.NewClientset(kubetest.CoreDNS(2))
	kubetest.SimulateRollouts(cs, 3)
	ctx := context.Background()
	changed, state, err := kube.RollCoreDNS(ctx, cs, "corefile", time.Second, time.Millisecond)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "2 of 2 replicas updated and ready (generation 2)", state)

	changed, _, err = kube.RollCoreDNS(ctx, cs, "corefile", time.Second, time.Millisecond)
	require.NoError(t, err)
	assert.False(t, changed, "the annotation is already set")
}

func TestWaitForRolloutTimesOutAndStopsAtTheProgressDeadline(t *testing.T) {
	d := kubetest.CoreDNS(2)
	d.Status.ReadyReplicas = 1
	cs := fake.NewClientset(d)
	_, err := kube.WaitForRollout(context.Background(), cs, "kube-system", "coredns", 20*time.Millisecond, time.Millisecond)
	assert.EqualError(t, err, "deployment kube-system/coredns not rolled out after 20ms: 1 of 2 updated replicas ready, 2 available")

	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "coredns-5d78c9869d" has timed out progressing.`}}
	cs = fake.NewClientset(d)
	_, err = kube.WaitForRollout(context.Background(), cs, "kube-system", "coredns", time.Minute, time.Millisecond)
	assert.ErrorContains(t, err, "roll out deployment kube-system/coredns: progress deadline exceeded: ReplicaSet")

	_, err = kube.WaitForRollout(context.Background(), fake.NewClientset(), "kube-system", "coredns", time.Minute, time.Millisecond)
	assert.ErrorContains(t, err, `deployments.apps "coredns" not found`)
}

// A rolled-out Deployment whose old pod still terminates is not done: that pod may still answer.
func TestWaitForRolloutWaitsForTerminatingPods(t *testing.T) {
	now := metav1.Now()
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns-old",
		Labels: map[string]string{"k8s-app": "kube-dns"}, DeletionTimestamp: &now, Finalizers: []string{"test"}}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "other", DeletionTimestamp: &now, Finalizers: []string{"test"}}}
	cs := fake.NewClientset(kubetest.CoreDNS(2), old, other)
	ctx := context.Background()
	_, err := kube.WaitForRollout(ctx, cs, "kube-system", "coredns", 20*time.Millisecond, time.Millisecond)
	assert.EqualError(t, err, "deployment kube-system/coredns not rolled out after 20ms: 2 of 2 replicas updated and ready (generation 1); 1 old pod(s) still terminating")

	require.NoError(t, cs.CoreV1().Pods("kube-system").Delete(ctx, "coredns-old", metav1.DeleteOptions{}))
	state, err := kube.WaitForRollout(ctx, cs, "kube-system", "coredns", time.Second, time.Millisecond)
	require.NoError(t, err, "a terminating pod of something else does not count")
	assert.Equal(t, "2 of 2 replicas updated and ready (generation 1)", state)
}

func TestRemoveTemplateAnnotationLooksOrRemoves(t *testing.T) {
	ctx := context.Background()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{kube.CorefileHashAnnotation: "abc", "keep": "1"}}}}}
	cs := fake.NewClientset(d)
	present, err := kube.RemoveTemplateAnnotation(ctx, cs, "kube-system", "coredns", kube.CorefileHashAnnotation, true)
	require.NoError(t, err)
	assert.True(t, present)
	got, _ := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.Contains(t, got.Spec.Template.Annotations, kube.CorefileHashAnnotation, "a dry run changes nothing")
	present, err = kube.RemoveTemplateAnnotation(ctx, cs, "kube-system", "coredns", kube.CorefileHashAnnotation, false)
	require.NoError(t, err)
	assert.True(t, present)
	got, _ = cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	assert.Equal(t, map[string]string{"keep": "1"}, got.Spec.Template.Annotations)
	present, err = kube.RemoveTemplateAnnotation(ctx, cs, "kube-system", "coredns", kube.CorefileHashAnnotation, false)
	require.NoError(t, err)
	assert.False(t, present)
	present, err = kube.RemoveTemplateAnnotation(ctx, fake.NewClientset(), "kube-system", "coredns", kube.CorefileHashAnnotation, false)
	require.NoError(t, err)
	assert.False(t, present, "no Deployment: nothing to remove")
}

// A Corefile changed and changed back without a rollout: the annotation already names it, so the
// pods crash-looping on the one in between are evicted (their replacements read this one); ready
// pods reload it themselves, and other pods of the namespace are left alone.
func TestRollCoreDNSEvictsPodsStuckOnAnOlderCorefile(t *testing.T) {
	d := kubetest.CoreDNS(2)
	d.Spec.Template.Annotations = map[string]string{kube.CorefileHashAnnotation: kube.SHA256("corefile")}
	pod := func(name string, labels map[string]string, ready corev1.ConditionStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Labels: labels},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}}}
	}
	dns := map[string]string{"k8s-app": "kube-dns"}
	cs := fake.NewClientset(d, pod("coredns-crashing", dns, corev1.ConditionFalse), pod("coredns-ready", dns, corev1.ConditionTrue),
		pod("other-unready", map[string]string{"app": "other"}, corev1.ConditionFalse))
	ctx := context.Background()
	changed, _, err := kube.RollCoreDNS(ctx, cs, "corefile", time.Second, time.Millisecond)
	require.NoError(t, err)
	assert.True(t, changed, "a pod was restarted")
	var evicted []string
	for _, a := range cs.Actions() {
		if a.GetSubresource() == "eviction" {
			evicted = append(evicted, a.(interface{ GetObject() runtime.Object }).GetObject().(*policyv1.Eviction).Name)
		}
	}
	assert.Equal(t, []string{"coredns-crashing"}, evicted)

	require.NoError(t, cs.CoreV1().Pods("kube-system").Delete(ctx, "coredns-crashing", metav1.DeleteOptions{}))
	changed, _, err = kube.RollCoreDNS(ctx, cs, "corefile", time.Second, time.Millisecond)
	require.NoError(t, err)
	assert.False(t, changed, "nothing left to do")
}
