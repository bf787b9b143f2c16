package kube_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
)

func TestListIPAMBlocks(t *testing.T) {
	objs := append(kubetest.CalicoBlock("10.248.1.0/26", "kind-worker", 3), kubetest.CalicoBlock("172.18.255.0/26", "kind-worker2", 0)...)
	blocks, err := kube.ListIPAMBlocks(context.Background(), kubetest.CalicoDynamic(objs...))
	require.NoError(t, err)
	require.Len(t, blocks, 2)
	byCIDR := map[string]kube.IPAMBlock{}
	for _, b := range blocks {
		byCIDR[b.CIDR.String()] = b
	}
	w := byCIDR["10.248.1.0/26"]
	assert.Equal(t, "kind-worker", w.Node)
	assert.Equal(t, 3, w.InUse)
	assert.Equal(t, "kind-worker-10-248-1-0-26", w.Affinity)
	assert.Equal(t, "block 172.18.255.0/26 (kind-worker2, 0 address(es) in use)", byCIDR["172.18.255.0/26"].String())

	in := kube.BlocksIn(blocks, netip.MustParsePrefix("172.18.0.0/16"))
	require.Len(t, in, 1)
	assert.Equal(t, "172-18-255-0-26", in[0].Name)
}

func TestReleaseEmptyIPAMBlock(t *testing.T) {
	ctx := context.Background()
	dyn := kubetest.CalicoDynamic(append(kubetest.CalicoBlock("10.248.1.0/26", "kind-worker", 1), kubetest.CalicoBlock("172.18.255.0/26", "kind-worker2", 0)...)...)
	blocks, err := kube.ListIPAMBlocks(ctx, dyn)
	require.NoError(t, err)
	for _, b := range blocks {
		if b.InUse > 0 {
			assert.ErrorContains(t, kube.ReleaseEmptyIPAMBlock(ctx, dyn, b), "is not empty")
			continue
		}
		require.NoError(t, kube.ReleaseEmptyIPAMBlock(ctx, dyn, b))
		require.NoError(t, kube.ReleaseEmptyIPAMBlock(ctx, dyn, b), "releasing a released block changes nothing")
	}
	left, err := kube.ListIPAMBlocks(ctx, dyn)
	require.NoError(t, err)
	require.Len(t, left, 1, "the block in use stays")
	assert.Equal(t, "10.248.1.0/26", left[0].CIDR.String())
	_, err = dyn.Resource(kube.CalicoBlockAffinities).Get(ctx, "kind-worker2-172-18-255-0-26", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the affinity goes with its block")
}

func TestReleaseEmptyIPAMBlockKeepsTheAffinityWhenTheBlockStays(t *testing.T) {
	ctx := context.Background()
	dyn := kubetest.CalicoDynamic(kubetest.CalicoBlock("172.18.255.0/26", "kind-worker2", 0)...)
	blocks, err := kube.ListIPAMBlocks(ctx, dyn)
	require.NoError(t, err)
	dyn.PrependReactor("delete", "ipamblocks", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the object has been modified")
	})
	assert.ErrorContains(t, kube.ReleaseEmptyIPAMBlock(ctx, dyn, blocks[0]), "the object has been modified")
	aff, err := dyn.Resource(kube.CalicoBlockAffinities).Get(ctx, "kind-worker2-172-18-255-0-26", metav1.GetOptions{})
	require.NoError(t, err)
	state, _, _ := unstructured.NestedString(aff.Object, "spec", "state")
	assert.Equal(t, "confirmed", state, "confirmed again, as before")
}
