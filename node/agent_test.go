package node

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func agentPod(name, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: AgentNamespace, Name: name,
		Labels: map[string]string{"app.kubernetes.io/name": AgentName}},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
}

func clusterNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func TestAgentNodesNeedAnAgentOnEveryNode(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(clusterNode("w1"), clusterNode("w2"), clusterNode("cp"),
		agentPod("a1", "w1", corev1.PodRunning), agentPod("a2", "w2", corev1.PodPending))
	_, err := AgentNodes(ctx, nil, cs)
	assert.EqualError(t, err, "no running netcert agent pod (netcert-system/netcert-agent) on node(s) cp, w2: install it with `netcert agent install`")

	cs = fake.NewClientset(clusterNode("w1"), clusterNode("w2"), agentPod("a1", "w1", corev1.PodRunning), agentPod("a2", "w2", corev1.PodRunning))
	nodes, err := AgentNodes(ctx, nil, cs)
	require.NoError(t, err)
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name())
	}
	assert.Equal(t, []string{"w1", "w2"}, names)
}

func TestAgentDaemonSetRunsPrivilegedInTheHostNamespacesOnEveryNode(t *testing.T) {
	ds := AgentDaemonSet("netcert.local/agent:dev")
	spec := ds.Spec.Template.Spec
	assert.True(t, spec.HostPID, "nsenter --target 1 needs the host's PID namespace")
	assert.True(t, spec.HostNetwork)
	assert.True(t, *spec.Containers[0].SecurityContext.Privileged)
	assert.Equal(t, []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, spec.Tolerations, "control-plane nodes too")
	assert.Equal(t, "netcert.local/agent:dev", spec.Containers[0].Image)
	assert.Equal(t, ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
}

// readyOnCreateAndUpdate makes the fake API report the DaemonSet Ready on n nodes.
func readyOnCreateAndUpdate(cs *fake.Clientset, n int32) {
	ready := func(a k8stesting.Action) (bool, runtime.Object, error) {
		ds := a.(interface{ GetObject() runtime.Object }).GetObject().(*appsv1.DaemonSet)
		ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: n, NumberReady: n, UpdatedNumberScheduled: n}
		return false, nil, nil
	}
	cs.PrependReactor("create", "daemonsets", ready)
	cs.PrependReactor("update", "daemonsets", ready)
}

func TestInstallAgentCreatesUpdatesAndWaits(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	readyOnCreateAndUpdate(cs, 3)
	require.NoError(t, InstallAgent(ctx, cs, "agent:1", time.Second))
	_, err := cs.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, InstallAgent(ctx, cs, "agent:2", time.Second), "installing again updates")
	ds, err := cs.AppsV1().DaemonSets(AgentNamespace).Get(ctx, AgentName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "agent:2", ds.Spec.Template.Spec.Containers[0].Image)

	require.NoError(t, RemoveAgent(ctx, cs))
	require.NoError(t, RemoveAgent(ctx, cs), "idempotent")
	_, err = cs.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
	assert.NoError(t, err, "the namespace stays")
}

func TestInstallAgentSaysWhyItIsNotReady(t *testing.T) {
	cs := fake.NewClientset()
	err := InstallAgent(context.Background(), cs, "agent:1", 50*time.Millisecond)
	assert.ErrorContains(t, err, "netcert agent: not Ready on every node after 50ms (netcert-agent: 0 of 0 ready and up to date): is image agent:1 available to the nodes?")
	assert.NotContains(t, err.Error(), "rate")
}
