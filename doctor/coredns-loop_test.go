package doctor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

var loopCheck = CoreDNSLoop{PollInterval: forwardCheck.PollInterval, RolloutTimeout: forwardCheck.RolloutTimeout}

// withCoreDNSSelf adds kubeadm's kube-dns Service (10.96.0.10) and a CoreDNS pod (10.244.0.3) in
// CrashLoopBackOff to the cluster.
func withCoreDNSSelf(t *testing.T, cs *fake.Clientset) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"k8s-app": "kube-dns"}
	_, err := cs.CoreV1().Services("kube-system").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", Labels: labels},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().Pods("kube-system").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "coredns-1", Namespace: "kube-system", Labels: labels},
		Status: corev1.PodStatus{PodIP: "10.244.0.3", ContainerStatuses: []corev1.ContainerStatus{
			{RestartCount: 4, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// Forwarding to CoreDNS's Service, to one of its pods or to loopback is a loop, named with the
// pods' state; coredns-forward-broken leaves those targets to it.
func TestCoreDNSLoopFiresOnEveryShapeOfSelf(t *testing.T) {
	for target, is := range map[string]string{
		"10.96.0.10":       "its own Service kube-system/kube-dns",
		"dns://10.244.0.3": "its own pod coredns-1",
		"127.0.0.1:53":     "a loopback address",
		"[::1]:53":         "a loopback address",
	} {
		c, cs, _ := corednsCluster(t, hermeticCorefile(t, target), corednsLiveUpstream)
		withCoreDNSSelf(t, cs)
		findings, err := loopCheck.Run(context.Background(), c)
		require.NoError(t, err)
		failed := Failed(findings)
		require.Len(t, failed, 1, target)
		assert.Contains(t, failed[0].Summary, "which is CoreDNS itself ("+is, target)
		assert.Contains(t, failed[0].Summary, "coredns-1: CrashLoopBackOff, 4 restart(s)")

		others, err := forwardCheck.Run(context.Background(), c)
		require.NoError(t, err)
		assert.Empty(t, Failed(others), "%s: coredns-forward-broken leaves the loop to coredns-loop", target)
	}
}

// A live upstream, another port of CoreDNS's Service address, and the node's resolvers are no
// loop (netcert sees no further than the Corefile).
func TestCoreDNSLoopQuiet(t *testing.T) {
	for _, target := range []string{corednsLiveUpstream, "10.96.0.10:5353", "/etc/resolv.conf"} {
		c, cs, _ := corednsCluster(t, hermeticCorefile(t, target), corednsLiveUpstream)
		withCoreDNSSelf(t, cs)
		findings, err := loopCheck.Run(context.Background(), c)
		require.NoError(t, err)
		assert.Empty(t, Failed(findings), target)
		plan, err := loopCheck.Plan(context.Background(), c, findings)
		require.NoError(t, err)
		assert.True(t, plan.Empty())
	}
}

// The repair puts the known-good Corefile's upstream back, rolls CoreDNS, and verifies.
func TestCoreDNSLoopRepairFromTheKnownGoodCorefile(t *testing.T) {
	ctx := context.Background()
	healthy := hermeticCorefile(t, corednsLiveUpstream)
	c, cs, _ := corednsCluster(t, healthy, corednsLiveUpstream)
	withCoreDNSSelf(t, cs)
	kept, _, err := SnapshotCorefile(ctx, c, forwardCheck)
	require.NoError(t, err)
	require.True(t, kept)
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	cm.Data["Corefile"] = hermeticCorefile(t, "10.96.0.10")
	_, err = cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)

	findings, err := loopCheck.Run(ctx, c)
	require.NoError(t, err)
	plan, err := loopCheck.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Equal(t, "coredns-loop", plan.Check)
	require.Len(t, plan.Actions, 1)
	rec, err := loopCheck.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.Equal(t, healthy, corefileOf(t, c))
	findings, err = loopCheck.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
}
