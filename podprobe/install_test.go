package podprobe

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRemoveDeletesTheProbesAndKeepsTheRest(t *testing.T) {
	ctx := context.Background()
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: Namespace, Name: name} }
	cs := fake.NewClientset(&appsv1.DaemonSet{ObjectMeta: meta("probe-a")}, &appsv1.DaemonSet{ObjectMeta: meta("probe-b")},
		&corev1.Service{ObjectMeta: meta(ProbeService)}, &corev1.Service{ObjectMeta: meta("dns-upstream")})
	require.NoError(t, Remove(ctx, cs))
	require.NoError(t, Remove(ctx, cs), "idempotent")
	for _, name := range ProbeSets {
		_, err := cs.AppsV1().DaemonSets(Namespace).Get(ctx, name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), name)
	}
	_, err := cs.CoreV1().Services(Namespace).Get(ctx, "dns-upstream", metav1.GetOptions{})
	assert.NoError(t, err, "what is not the probes' stays")
}
