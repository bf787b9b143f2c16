package faults

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

var resolvFault = NodeResolvConfBroken{StopTimeout: time.Second, PollInterval: time.Millisecond}

// resolvBed is a fake cluster of two nodes with resolv.conf files, whose CoreDNS ReplicaSet
// replaces deleted pods: one per node, crashed when the Corefile reads an empty file, else ready.
// Every pod it sets up must be hermetic: no pod may read a file with a nameserver through its
// Corefile (leaks records those that would).
type resolvBed struct {
	c      *Cluster
	cs     *fake.Clientset
	files  map[string]string
	leaks  []string
	starts int
	// ignoreEmpty: a CoreDNS that keeps running without a nameserver.
	ignoreEmpty bool
}

func newResolvBed(t *testing.T, corefile string) *resolvBed {
	t.Helper()
	c, cs := corednsFake(t, corefile)
	b := &resolvBed{c: c, cs: cs, files: map[string]string{}}
	for _, name := range []string{"cp", "w1"} {
		b.files[name] = "nameserver 172.18.0.1\noptions ndots:0\n"
		n := node.NewFake(name).
			Handle("cat /etc/resolv.conf", func([]string) (string, int) { return b.files[name], 0 }).
			Handle("sh -c : > /etc/resolv.conf", func([]string) (string, int) { b.files[name] = ""; return "", 0 }).
			Handle("sh -c printf", func(argv []string) (string, int) {
				m := regexp.MustCompile(`'([A-Za-z0-9+/=]*)' \| base64 -d > /etc/resolv.conf$`).FindStringSubmatch(argv[2])
				require.NotNil(t, m, argv[2])
				data, err := base64.StdEncoding.DecodeString(m[1])
				require.NoError(t, err)
				b.files[name] = string(data)
				return "", 0
			})
		journalOn(n)
		c.Nodes = append(c.Nodes, n)
	}
	b.startPods(t)
	cs.PrependReactor("delete-collection", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		b.startPods(t)
		return true, nil, nil
	})
	return b
}

// startPods replaces CoreDNS's pods, as the ReplicaSet and the kubelet would. It runs inside the
// fake clientset's reactors, so it uses the object tracker only.
func (b *resolvBed) startPods(t *testing.T) {
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	list, err := b.cs.Tracker().List(pods, corev1.SchemeGroupVersion.WithKind("Pod"), "kube-system")
	require.NoError(t, err)
	for _, p := range list.(*corev1.PodList).Items {
		require.NoError(t, b.cs.Tracker().Delete(pods, "kube-system", p.Name))
	}
	obj, err := b.cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("configmaps"), "kube-system", "coredns")
	require.NoError(t, err)
	readsFile := strings.Contains(obj.(*corev1.ConfigMap).Data["Corefile"], "forward . /etc/resolv.conf")
	for _, n := range []string{"cp", "w1"} {
		b.starts++
		name := fmt.Sprintf("coredns-%d", b.starts)
		empty := !strings.Contains(b.files[n], "nameserver")
		if readsFile && !empty {
			b.leaks = append(b.leaks, name+" on "+n)
		}
		status := corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		if readsFile && (empty || b.ignoreEmpty) {
			status = corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 1}}}
		}
		if b.ignoreEmpty {
			status = corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		}
		require.NoError(t, b.cs.Tracker().Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", UID: types.UID(name),
			Labels: map[string]string{"k8s-app": "kube-dns"}}, Spec: corev1.PodSpec{NodeName: n}, Status: status}))
	}
}

func TestNodeResolvConfBrokenInjectsAndRevertsHermetically(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	b := newResolvBed(t, original)
	before := map[string]string{"cp": b.files["cp"], "w1": b.files["w1"]}
	ctx := context.Background()
	revert, err := resolvFault.Inject(ctx, b.c)
	require.NoError(t, err)
	corefile, _ := corednsState(t, b.cs)
	assert.Equal(t, hermeticCorefile(t, "/etc/resolv.conf"), corefile)
	assert.Equal(t, map[string]string{"cp": "", "w1": ""}, b.files)
	cm, err := b.cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, original, cm.Annotations[OriginalCorefileAnnotation], "marked for netcert clean")
	for _, n := range b.c.Nodes {
		assert.Contains(t, n.(*node.Fake).Calls(), strings.Join(journalWrite, " ")+" "+journalPath("node-resolv-conf-broken")+" "+
			"printf '%s' '"+base64.StdEncoding.EncodeToString([]byte(before[n.Name()]))+"' | base64 -d > /etc/resolv.conf", "journaled before the change")
	}

	require.NoError(t, revert(ctx))
	corefile, _ = corednsState(t, b.cs)
	assert.Equal(t, original, corefile)
	assert.Equal(t, before, b.files, "every file byte for byte")
	assert.Empty(t, b.leaks, "a CoreDNS pod read a working file through the Corefile: its queries would leave the machine")
	pods, err := b.cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, pods.Items, 2)
	for _, p := range pods.Items {
		assert.True(t, kube.PodReady(p), "%s runs with the restored file", p.Name)
	}
}

// When CoreDNS keeps running, the fault says so and puts everything back.
func TestNodeResolvConfBrokenRefusesWhenCoreDNSKeepsRunning(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	b := newResolvBed(t, original)
	before := map[string]string{"cp": b.files["cp"], "w1": b.files["w1"]}
	b.ignoreEmpty = true
	_, err := resolvFault.Inject(context.Background(), b.c)
	assert.ErrorContains(t, err, "does the Corefile forward to it?")
	corefile, _ := corednsState(t, b.cs)
	assert.Equal(t, original, corefile, "reverted at once")
	assert.Equal(t, before, b.files)
}

// An old CoreDNS pod in its lame-duck time still answers through the Service: CoreDNS is not
// stopped until it is gone.
func TestWaitCoreDNSCrashedWaitsForTerminatingPods(t *testing.T) {
	c, cs := corednsFake(t, hermeticCorefile(t, "10.96.12.34:53"))
	labels := map[string]string{"k8s-app": "kube-dns"}
	now := metav1.Now()
	require.NoError(t, cs.Tracker().Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "kube-system", Labels: labels},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 1}}}}))
	require.NoError(t, cs.Tracker().Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "kube-system", Labels: labels,
		DeletionTimestamp: &now, Finalizers: []string{"test"}}}))
	err := waitCoreDNSCrashed(context.Background(), c, 20*time.Millisecond, time.Millisecond, "a test")
	assert.ErrorContains(t, err, "0 of 1 CoreDNS pod(s) still run after 20ms (and 1 old one(s) still terminating) with a test")
	require.NoError(t, cs.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "kube-system", "old"))
	assert.NoError(t, waitCoreDNSCrashed(context.Background(), c, 20*time.Millisecond, time.Millisecond, "a test"))
}
