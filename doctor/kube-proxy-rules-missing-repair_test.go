package doctor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netcert/netcert/kube/kubetest"
)

// kpProxyPod is a running kube-proxy pod of the DaemonSet on a node.
func kpProxyPod(name, nodeName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name, UID: types.UID("uid-" + name),
			Labels: map[string]string{"k8s-app": "kube-proxy"}},
		Spec:   corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// kpEvictions records the evictions of a fake clientset and answers them with react.
func kpEvictions(cs *fake.Clientset, react func(ev string) error) *[]string {
	var evicted []string
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		name := a.(k8stesting.CreateAction).GetObject().(metav1.Object).GetName()
		evicted = append(evicted, a.GetNamespace()+"/"+name)
		return true, nil, react(a.GetNamespace() + "/" + name)
	})
	return &evicted
}

// kpFailingPlan runs the check on a worker whose kube-dns:dns chain is flushed and plans the repair.
func kpFailingPlan(t *testing.T, objects ...runtime.Object) (*Cluster, *fake.Clientset, *kpFakeNode, Plan) {
	t.Helper()
	n := newKPNode(t, kpWorker, "iptables-nft-svc-flushed.save", "")
	c, cs := kpCluster(append(kpObjects(), objects...), n)
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, Failed(findings), 1)
	plan, err := kpCheck.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	return c, cs, n, plan
}

func TestKubeProxyRulesMissingPlanRestartsKubeProxyOnTheNode(t *testing.T) {
	_, _, _, plan := kpFailingPlan(t, kpProxyPod("kube-proxy-2xq7w", kpWorker), kpProxyPod("kube-proxy-l8d4c", "netcert-control-plane"))
	assert.Empty(t, plan.Manual)
	assert.Equal(t, []Action{{Node: kpWorker, Object: "kube-system/kube-proxy-2xq7w",
		Summary: "restart kube-proxy on netcert-worker so it re-programs every Service (a full sync)"}}, plan.Actions)
}

func TestKubeProxyRulesMissingPlanIsManualWithoutAnEvictablePod(t *testing.T) {
	_, _, _, plan := kpFailingPlan(t, kpProxyPod("kube-proxy-l8d4c", "netcert-control-plane"))
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "netcert-worker: no kube-proxy pod (label k8s-app=kube-proxy) runs on this node")

	static := kpProxyPod("kube-proxy-netcert-worker", kpWorker)
	static.Annotations = map[string]string{kubeProxyMirrorAnnotation: "0c1d"}
	c, _, _, plan := kpFailingPlan(t, static)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "kube-proxy runs as the static pod kube-system/kube-proxy-netcert-worker, which an eviction does not restart")
	_, err := kpCheck.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "needs manual steps")
}

func TestKubeProxyRulesMissingApplyEvictsWaitsAndIsIdempotent(t *testing.T) {
	c, cs, n, plan := kpFailingPlan(t, kpProxyPod("kube-proxy-2xq7w", kpWorker))
	healthy := kpTestdata(t, "iptables-nft-healthy.save")
	tracker := cs.Tracker()
	evicted := kpEvictions(cs, func(string) error {
		// The DaemonSet replaces the pod; the new kube-proxy's full sync takes a few reads.
		require.NoError(t, tracker.Delete(corev1.SchemeGroupVersion.WithResource("pods"), "kube-system", "kube-proxy-2xq7w"))
		require.NoError(t, tracker.Add(kpProxyPod("kube-proxy-9vbnm", kpWorker)))
		reads := 0
		n.mu.Lock()
		n.onXtRead = func(int) {
			if reads++; reads == 2 {
				n.set(healthy, "")
			}
		}
		n.mu.Unlock()
		return nil
	})
	ctx := context.Background()
	rec, err := kpCheck.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.Equal(t, []string{"kube-system/kube-proxy-2xq7w"}, *evicted)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)
	assert.Equal(t, "POST pods/kube-proxy-2xq7w/eviction -n kube-system (policy/v1)", rec.Steps[0].Evidence[0].Source)
	assert.Contains(t, rec.Steps[0].Evidence[1].Output, "kube-system/kube-proxy-9vbnm is Running")
	assert.Contains(t, rec.Steps[0].Evidence[2].Output, "5 Service ports programmed (iptables mode)")

	rec, err = kpCheck.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.False(t, rec.Steps[0].Changed, "the rules match: the node is not touched")
	assert.Len(t, *evicted, 1)

	findings, err := kpCheck.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
	assert.Empty(t, kubetest.Disallowed(t, cs.Actions(), "netcert-doctor", "netcert-repair"), "fixtures/netcert-rbac.yaml allows what the repair calls")
}

func TestKubeProxyRulesMissingApplyRespectsAPodDisruptionBudget(t *testing.T) {
	c, cs, _, plan := kpFailingPlan(t, kpProxyPod("kube-proxy-2xq7w", kpWorker))
	kpEvictions(cs, func(string) error {
		return apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
	})
	rec, err := kpCheck.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "evict kube-proxy pod kube-system/kube-proxy-2xq7w: the PodDisruptionBudget refused it")
	require.Len(t, rec.Steps, 1)
	assert.False(t, rec.Steps[0].Changed)
	_, err = cs.CoreV1().Pods("kube-system").Get(context.Background(), "kube-proxy-2xq7w", metav1.GetOptions{})
	assert.NoError(t, err, "the pod is still there")
}

func TestKubeProxyRulesMissingApplyGivesUpWhenTheRulesStayBroken(t *testing.T) {
	c, cs, _, plan := kpFailingPlan(t, kpProxyPod("kube-proxy-2xq7w", kpWorker))
	tracker := cs.Tracker()
	kpEvictions(cs, func(string) error {
		require.NoError(t, tracker.Delete(corev1.SchemeGroupVersion.WithResource("pods"), "kube-system", "kube-proxy-2xq7w"))
		return tracker.Add(kpProxyPod("kube-proxy-9vbnm", kpWorker))
	})
	p := kpCheck
	p.RestartTimeout = time.Millisecond
	_, err := p.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "after evicting kube-proxy pod kube-system/kube-proxy-2xq7w: new kube-proxy pod kube-system/kube-proxy-9vbnm runs, "+
		"but 1 Service ports still fail, e.g. service kube-system/kube-dns 53/udp: KUBE-SVC-TCOU7JCQXEZGVUNU has 0 of 2 endpoints")
}
