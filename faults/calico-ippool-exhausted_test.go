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

// The enabled pools select no node, marked with the selector before (a disabled pool is left
// alone), listed as marks, put back by the revert and by clean.
func TestCalicoIPPoolExhaustedSelectsNoNodeMarksAndCleans(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Client: fake.NewClientset(), CNI: "calico", Dynamic: kubetest.CalicoDynamic(
		kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false), kubetest.CalicoPool("old", "10.250.0.0/16", "Always", true))}
	selector := func(name string) (string, string) {
		p, err := c.Dynamic.Resource(kube.CalicoIPPools).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		sel, _, _ := unstructured.NestedString(p.Object, "spec", "nodeSelector")
		return sel, p.GetAnnotations()[SelectorBeforeFault]
	}
	f := CalicoIPPoolExhausted{}
	assert.False(t, f.AppliesTo("flannel"))
	revert, err := f.Inject(ctx, c)
	require.NoError(t, err)
	sel, mark := selector("default-ipv4-ippool")
	assert.Equal(t, "!all()", sel)
	assert.Equal(t, "all()", mark)
	sel, _ = selector("old")
	assert.Empty(t, sel, "a disabled pool is not the fault's")
	marks, err := Marks(ctx, c)
	require.NoError(t, err)
	assert.Contains(t, marks, "IPPool default-ipv4-ippool's nodeSelector replaced by calico-ippool-exhausted")
	require.NoError(t, revert(ctx))
	sel, mark = selector("default-ipv4-ippool")
	assert.Equal(t, "all()", sel)
	assert.Empty(t, mark)

	_, err = f.Inject(ctx, c)
	require.NoError(t, err)
	cleaned, err := Clean(ctx, c)
	require.NoError(t, err)
	assert.Contains(t, cleaned, "calico-ippool-exhausted (IPPool default-ipv4-ippool's nodeSelector put back)")
	sel, _ = selector("default-ipv4-ippool")
	assert.Equal(t, "all()", sel)
	marks, err = Marks(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, marks)
}
