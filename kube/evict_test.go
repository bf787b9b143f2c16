package kube

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The Eviction API decides, not netcert: a budget's refusal (429) is "blocked", not an error and
// not a deletion; a pod already gone is done.
func TestEvictHonoursTheBudget(t *testing.T) {
	ctx := context.Background()
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1"}}
	cs := fake.NewClientset(&pod)
	blocked, err := Evict(ctx, cs, pod)
	require.NoError(t, err)
	assert.Empty(t, blocked)
	assert.Equal(t, "create", cs.Actions()[0].GetVerb())
	assert.Equal(t, "eviction", cs.Actions()[0].GetSubresource())

	cs = fake.NewClientset(&pod)
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
	})
	blocked, err = Evict(ctx, cs, pod)
	require.NoError(t, err)
	assert.Contains(t, blocked, "disruption budget")
	_, err = cs.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
	assert.NoError(t, err, "a refused eviction deletes nothing")

	cs = fake.NewClientset()
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "web-1")
	})
	blocked, err = Evict(ctx, cs, pod)
	assert.NoError(t, err)
	assert.Empty(t, blocked)
}
