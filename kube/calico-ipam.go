package kube

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// IPAMBlock is one of Calico's IPAM blocks: a slice of an IPPool claimed by a node. Felix routes a
// block to its node (a blackhole route there, the overlay from the other nodes) for as long as
// the block exists, empty or not; Calico itself releases an empty block only after a grace period
// (15m) and only when its node holds another block.
type IPAMBlock struct {
	Name     string
	CIDR     netip.Prefix
	Node     string // from spec.affinity "host:<node>"; "" when no node holds it
	InUse    int    // allocated addresses
	Affinity string // the node's BlockAffinity for the block; "" when there is none

	resourceVersion string
}

func (b IPAMBlock) String() string {
	node := b.Node
	if node == "" {
		node = "no node"
	}
	return fmt.Sprintf("block %s (%s, %d address(es) in use)", b.CIDR, node, b.InUse)
}

// ListIPAMBlocks lists Calico's IPAM blocks with their affinities.
func ListIPAMBlocks(ctx context.Context, dyn dynamic.Interface) ([]IPAMBlock, error) {
	list, err := dyn.Resource(CalicoIPAMBlocks).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Calico IPAM blocks: %w", err)
	}
	affs, err := dyn.Resource(CalicoBlockAffinities).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Calico block affinities: %w", err)
	}
	affinity := map[string]string{} // node + cidr -> name
	for _, a := range affs.Items {
		node, _, _ := unstructured.NestedString(a.Object, "spec", "node")
		cidr, _, _ := unstructured.NestedString(a.Object, "spec", "cidr")
		affinity[node+"\x00"+cidr] = a.GetName()
	}
	var out []IPAMBlock
	for _, item := range list.Items {
		cidr, _, _ := unstructured.NestedString(item.Object, "spec", "cidr")
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("IPAM block %s: cidr %q: %w", item.GetName(), cidr, err)
		}
		b := IPAMBlock{Name: item.GetName(), CIDR: p.Masked(), resourceVersion: item.GetResourceVersion()}
		aff, _, _ := unstructured.NestedString(item.Object, "spec", "affinity")
		b.Node, _ = strings.CutPrefix(aff, "host:")
		allocations, _, _ := unstructured.NestedSlice(item.Object, "spec", "allocations")
		for _, a := range allocations {
			if a != nil {
				b.InUse++
			}
		}
		if b.Node != "" {
			b.Affinity = affinity[b.Node+"\x00"+cidr]
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b IPAMBlock) int {
		if c := a.CIDR.Addr().Compare(b.CIDR.Addr()); c != 0 {
			return c
		}
		return a.CIDR.Bits() - b.CIDR.Bits()
	})
	return out, nil
}

// BlocksIn returns the blocks inside prefix.
func BlocksIn(blocks []IPAMBlock, prefix netip.Prefix) []IPAMBlock {
	var out []IPAMBlock
	for _, b := range blocks {
		if prefix.Overlaps(b.CIDR) {
			out = append(out, b)
		}
	}
	return out
}

// ReleaseEmptyIPAMBlock releases an empty block as Calico's IPAM does: the node's affinity is
// marked pendingDeletion, the block deleted (only if unchanged since it was listed), then the
// affinity. If the block cannot be deleted, the affinity is confirmed again.
func ReleaseEmptyIPAMBlock(ctx context.Context, dyn dynamic.Interface, b IPAMBlock) error {
	if b.InUse > 0 {
		return fmt.Errorf("IPAM %s is not empty", b)
	}
	setState := func(state string) error {
		patch := fmt.Sprintf(`{"spec":{"state":%q}}`, state)
		_, err := dyn.Resource(CalicoBlockAffinities).Patch(ctx, b.Affinity, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("set block affinity %s to %s: %w", b.Affinity, state, err)
		}
		return nil
	}
	if b.Affinity != "" {
		if err := setState("pendingDeletion"); err != nil {
			return err
		}
	}
	opts := metav1.DeleteOptions{}
	if b.resourceVersion != "" {
		opts.Preconditions = &metav1.Preconditions{ResourceVersion: &b.resourceVersion}
	}
	if err := dyn.Resource(CalicoIPAMBlocks).Delete(ctx, b.Name, opts); err != nil && !apierrors.IsNotFound(err) {
		err = fmt.Errorf("delete IPAM %s: %w", b, err)
		if b.Affinity != "" {
			if rerr := setState("confirmed"); rerr != nil {
				err = fmt.Errorf("%w; %w", err, rerr)
			}
		}
		return err
	}
	if b.Affinity != "" {
		err := dyn.Resource(CalicoBlockAffinities).Delete(ctx, b.Affinity, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete block affinity %s: %w", b.Affinity, err)
		}
	}
	return nil
}
