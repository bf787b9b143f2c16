package faults

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var loopFault = CoreDNSLoop{StopTimeout: time.Second, PollInterval: time.Millisecond, RolloutTimeout: 5 * time.Second}

// withLoopingCoreDNS makes deleting CoreDNS's pods bring back one
// that the loop plugin stopped (crashed says whether it did) as the ReplicaSet would.
func withLoopingCoreDNS(t *testing.T, cs *fake.Clientset, crashed bool) {
	t.Helper()
	restarts := int32(0)
	if crashed {
		restarts = 1
	}
	cs.PrependReactor("delete-collection", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "coredns-new", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{RestartCount: restarts}}}}
		return true, nil, cs.Tracker().Add(pod)
	})
}

func TestCoreDNSLoopInjectsAndReverts(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	c, cs := corednsFake(t, original)
	withLoopingCoreDNS(t, cs, true)
	ctx := context.Background()
	revert, err := loopFault.Inject(ctx, c)
	require.NoError(t, err)
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, hermeticCorefile(t, "127.0.0.1:53"), cm.Data["Corefile"], "CoreDNS forwards to itself")
	assert.Equal(t, original, cm.Annotations[OriginalCorefileAnnotation], "marked for netcert clean")

	require.NoError(t, revert(ctx))
	corefile, _ := corednsState(t, cs)
	assert.Equal(t, original, corefile)
}

// Without the loop plugin CoreDNS keeps running: the fault says so and leaves nothing behind.
func TestCoreDNSLoopRefusesWhenCoreDNSKeepsRunning(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	c, cs := corednsFake(t, original)
	withLoopingCoreDNS(t, cs, false)
	_, err := loopFault.Inject(context.Background(), c)
	assert.ErrorContains(t, err, "has its Corefile the loop plugin?")
	corefile, _ := corednsState(t, cs)
	assert.Equal(t, original, corefile, "reverted at once")
}
