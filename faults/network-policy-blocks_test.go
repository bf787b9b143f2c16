package faults

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The policy is created marked, listed as a mark, deleted by its revert and by clean; a second
// injection is refused while it exists.
func TestNetworkPolicyBlocksInjectsMarksAndCleans(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Client: fake.NewClientset(), CNI: "calico"}
	f := NetworkPolicyBlocks{Namespace: "netcert-system", Isolate: map[string]string{"set": "b"}, Admit: map[string]string{"set": "b"}}
	assert.False(t, f.AppliesTo("flannel"), "Flannel enforces no policy")
	revert, err := f.Inject(ctx, c)
	require.NoError(t, err)
	p, err := c.Client.NetworkingV1().NetworkPolicies("netcert-system").Get(ctx, NetworkPolicyBlocksPolicy, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"set": "b"}, p.Spec.PodSelector.MatchLabels)
	assert.Equal(t, map[string]string{"set": "b"}, p.Spec.Ingress[0].From[0].PodSelector.MatchLabels)
	_, err = f.Inject(ctx, c)
	assert.ErrorContains(t, err, "already exists")

	marks, err := Marks(ctx, c)
	require.NoError(t, err)
	assert.Contains(t, marks, "NetworkPolicy netcert-system/"+NetworkPolicyBlocksPolicy)
	require.NoError(t, revert(ctx))
	require.NoError(t, revert(ctx), "a second revert finds nothing to delete")

	_, err = f.Inject(ctx, c)
	require.NoError(t, err)
	cleaned, err := Clean(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"network-policy-blocks (NetworkPolicy netcert-system/" + NetworkPolicyBlocksPolicy + " deleted)"}, cleaned)
	marks, err = Marks(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, marks)
}
