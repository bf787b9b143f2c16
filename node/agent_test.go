package node

import (
	"context"
	"fmt"
	"io"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"strings"
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

	"github.com/netcert/netcert/kube/kubetest"
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
	assert.EqualError(t, err, "no running netcert agent pod (netcert-agent/netcert-agent) on node(s) cp, w2: install it with `netcert agent install`")

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
	ds := AgentDaemonSet("netcert.local/agent:dev", AgentForRun)
	spec := ds.Spec.Template.Spec
	assert.True(t, spec.HostPID, "nsenter --target 1 needs the host's PID namespace")
	assert.True(t, spec.HostNetwork)
	assert.True(t, *spec.Containers[0].SecurityContext.Privileged)
	assert.Equal(t, []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, spec.Tolerations, "control-plane nodes too")
	assert.Equal(t, "netcert.local/agent:dev", spec.Containers[0].Image)
	assert.Equal(t, ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
}

// The agent has no API rights and no token: its own ServiceAccount, bound to nothing, never
// mounted; its namespace says it holds privileged pods.
func TestAgentHasNoTokenAndItsNamespaceIsLabelledPrivileged(t *testing.T) {
	spec := AgentDaemonSet("a:1", AgentForRun).Spec.Template.Spec
	assert.Equal(t, AgentName, spec.ServiceAccountName, "not the namespace's default ServiceAccount")
	assert.False(t, *spec.AutomountServiceAccountToken)
	assert.False(t, *AgentServiceAccount().AutomountServiceAccountToken)
	ns := AgentNamespaceObject(AgentForRun)
	assert.Equal(t, "privileged", ns.Labels["pod-security.kubernetes.io/enforce"])
	assert.Equal(t, "run", ns.Annotations[lifetimeAnnotation])
}

// readyOnCreateAndUpdate makes the fake API report the DaemonSet Ready on n nodes, and creates
// an agent pod on each that runs imageIDs[i] (the last one for the rest).
func readyOnCreateAndUpdate(cs *fake.Clientset, n int32, imageIDs ...string) {
	ready := func(a k8stesting.Action) (bool, runtime.Object, error) {
		ds := a.(interface{ GetObject() runtime.Object }).GetObject().(*appsv1.DaemonSet)
		ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: n, NumberReady: n, UpdatedNumberScheduled: n}
		for i := range int(n) {
			pod := agentPod(fmt.Sprintf("agent-%d", i), fmt.Sprintf("n%d", i), corev1.PodRunning)
			if len(imageIDs) > 0 {
				pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: agentContainer, ImageID: imageIDs[min(i, len(imageIDs)-1)]}}
			}
			_ = cs.Tracker().Add(pod)
		}
		return false, nil, nil
	}
	cs.PrependReactor("create", "daemonsets", ready)
	cs.PrependReactor("update", "daemonsets", ready)
}

func TestInstallAgentCreatesUpdatesAndRemovesEverything(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	readyOnCreateAndUpdate(cs, 3, "sha256:aaa")
	img, err := InstallAgent(ctx, cs, "agent:1", AgentStanding, time.Second)
	require.NoError(t, err)
	assert.Equal(t, "sha256:aaa", img.ID)
	assert.False(t, img.Pinned())
	for _, get := range []func() error{
		func() error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cs.CoreV1().ServiceAccounts(AgentNamespace).Get(ctx, AgentName, metav1.GetOptions{})
			return err
		},
	} {
		require.NoError(t, get())
	}
	_, err = InstallAgent(ctx, cs, "agent:2", AgentStanding, time.Second)
	require.NoError(t, err, "installing again updates")
	ds, err := cs.AppsV1().DaemonSets(AgentNamespace).Get(ctx, AgentName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "agent:2", ds.Spec.Template.Spec.Containers[0].Image)

	require.NoError(t, RemoveAgent(ctx, cs, time.Second))
	require.NoError(t, RemoveAgent(ctx, cs, time.Second), "idempotent")
	_, err = cs.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the agent's namespace goes with it: %v", err)
}

// A tag that resolved to two images on two nodes is refused: what runs must be one image.
func TestInstallAgentRefusesAMovedTag(t *testing.T) {
	cs := fake.NewClientset()
	readyOnCreateAndUpdate(cs, 2, "sha256:aaa", "sha256:bbb")
	_, err := InstallAgent(context.Background(), cs, "agent:dev", AgentForRun, time.Second)
	assert.ErrorContains(t, err, "different images on different nodes (sha256:aaa on n0; sha256:bbb on n1)")
}

func TestInstallAgentSaysWhyItIsNotReady(t *testing.T) {
	cs := fake.NewClientset()
	_, err := InstallAgent(context.Background(), cs, "agent:1", AgentForRun, 50*time.Millisecond)
	assert.ErrorContains(t, err, "netcert agent: not Ready on every node after 50ms (netcert-agent: 0 of 0 ready and up to date): is image agent:1 available to the nodes?")
	assert.NotContains(t, err.Error(), "rate")
}

// With no agent standing, a run installs one and its release removes it; --keep-agent keeps it
// (standing, so that the next run uses it and leaves it).
func TestEnsureAgentInstallsForTheRunAndRemovesIt(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		cs := fake.NewClientset(clusterNode("n0"), clusterNode("n1"))
		readyOnCreateAndUpdate(cs, 2, "sha256:aaa")
		var log strings.Builder
		nodes, release, err := EnsureAgent(ctx, nil, cs, "agent:1", time.Second, keep, &log)
		require.NoError(t, err)
		assert.Len(t, nodes, 2)
		require.NoError(t, release(ctx))
		_, err = cs.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
		assert.Equal(t, keep, err == nil, "keep=%v: %v\n%s", keep, err, log.String())
		if keep {
			ds, err := cs.AppsV1().DaemonSets(AgentNamespace).Get(ctx, AgentName, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "standing", ds.Annotations[lifetimeAnnotation])
			nodes, release, err := EnsureAgent(ctx, nil, cs, "agent:1", time.Second, false, &log)
			require.NoError(t, err)
			assert.Len(t, nodes, 2)
			require.NoError(t, release(ctx))
			_, err = cs.AppsV1().DaemonSets(AgentNamespace).Get(ctx, AgentName, metav1.GetOptions{})
			assert.NoError(t, err, "a standing agent stays after a run")
			assert.Contains(t, log.String(), "using the standing netcert agent")
		}
		assert.Empty(t, kubetest.Disallowed(t, cs.Actions(), "netcert-doctor", "netcert-agent"), "fixtures/netcert-rbac.yaml allows what the agent's life cycle calls")
	}
}

// An agent that never gets Ready is removed again: a failed run leaves nothing behind.
func TestEnsureAgentRemovesAnAgentThatNeverRan(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(clusterNode("n0"))
	_, _, err := EnsureAgent(ctx, nil, cs, "agent:missing", 50*time.Millisecond, false, io.Discard)
	require.ErrorContains(t, err, "is image agent:missing available")
	_, err = cs.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "%v", err)
}
