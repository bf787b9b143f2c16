package faults

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
)

// The enabled pools are disabled and marked (a disabled one is left alone), listed as marks,
// enabled again by the revert and by clean.
func TestCalicoIPPoolExhaustedDisablesMarksAndCleans(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Client: fake.NewClientset(), CNI: "calico", Dynamic: kubetest.CalicoDynamic(
		kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false), kubetest.CalicoPool("old", "10.250.0.0/16", "Always", true))}
	disabled := func(name string) (bool, string) {
		p, err := c.Dynamic.Resource(kube.CalicoIPPools).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		off, _, _ := unstructured.NestedBool(p.Object, "spec", "disabled")
		return off, p.GetAnnotations()[DisabledByFault]
	}
	f := CalicoIPPoolExhausted{}
	assert.False(t, f.AppliesTo("flannel"))
	revert, err := f.Inject(ctx, c)
	require.NoError(t, err)
	off, mark := disabled("default-ipv4-ippool")
	assert.True(t, off)
	assert.Equal(t, "true", mark)
	_, mark = disabled("old")
	assert.Empty(t, mark, "a pool disabled before is not the fault's")
	marks, err := Marks(ctx, c)
	require.NoError(t, err)
	assert.Contains(t, marks, "IPPool default-ipv4-ippool disabled by calico-ippool-exhausted")
	require.NoError(t, revert(ctx))
	off, mark = disabled("default-ipv4-ippool")
	assert.False(t, off)
	assert.Empty(t, mark)

	_, err = f.Inject(ctx, c)
	require.NoError(t, err)
	cleaned, err := Clean(ctx, c)
	require.NoError(t, err)
	assert.Contains(t, cleaned, "calico-ippool-exhausted (IPPool default-ipv4-ippool enabled again)")
	off, _ = disabled("default-ipv4-ippool")
	assert.False(t, off)
	off, _ = disabled("old")
	assert.True(t, off, "clean leaves a pool someone else disabled")
}
