package kube

import (
	"context"
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Calico keeps its configuration in CRDs of crd.projectcalico.org/v1 (the Kubernetes datastore).
var (
	CalicoIPPools            = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"}
	CalicoFelixConfiguration = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "felixconfigurations"}
	CalicoIPAMBlocks         = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ipamblocks"}
	CalicoBlockAffinities    = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "blockaffinities"}
)

// CreateIPPool creates an enabled IPPool for cidr that hands out addresses on every node.
func CreateIPPool(ctx context.Context, dyn dynamic.Interface, name string, cidr netip.Prefix, vxlanMode string) error {
	pool := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": CalicoIPPools.Group + "/" + CalicoIPPools.Version, "kind": "IPPool",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"cidr": cidr.String(), "vxlanMode": vxlanMode, "ipipMode": "Never",
			"natOutgoing": true, "nodeSelector": "all()"},
	}}
	if _, err := dyn.Resource(CalicoIPPools).Create(ctx, pool, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create IPPool %s %s: %w", name, cidr, err)
	}
	return nil
}

// SetIPPoolDisabled sets an IPPool's spec.disabled: a disabled pool hands out no new address.
func SetIPPoolDisabled(ctx context.Context, dyn dynamic.Interface, name string, disabled bool) error {
	patch := fmt.Sprintf(`{"spec":{"disabled":%t}}`, disabled)
	if _, err := dyn.Resource(CalicoIPPools).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set IPPool %s disabled=%t: %w", name, disabled, err)
	}
	return nil
}
