package faults

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/netcert/netcert/kube"
)

// DisabledByFault is the annotation on an IPPool that calico-ippool-exhausted disabled: clean
// enables it again.
const DisabledByFault = "netcert.io/disabled-by-fault"

// CalicoIPPoolExhausted disables every enabled IPPool, as a pool migration left half done does:
// Calico's IPAM then gives a new pod no address, running pods keep theirs. Revert enables them.
type CalicoIPPoolExhausted struct{}

// Name returns "calico-ippool-exhausted".
func (CalicoIPPoolExhausted) Name() string { return "calico-ippool-exhausted" }

// AppliesTo: the pools are Calico's.
func (CalicoIPPoolExhausted) AppliesTo(cni string) bool { return cni == "calico" }

// Inject disables the enabled pools, each marked.
func (f CalicoIPPoolExhausted) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Dynamic == nil {
		return nil, fmt.Errorf("%s: needs the dynamic Kubernetes client (Calico's IPPools)", f.Name())
	}
	pools, err := c.Dynamic.Resource(kube.CalicoIPPools).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: list IPPools: %w", f.Name(), err)
	}
	var disabled []string
	revert := func(ctx context.Context) error {
		for _, name := range disabled {
			if err := setPoolDisabledByFault(ctx, c, name, false); err != nil {
				return fmt.Errorf("%s: %w", f.Name(), err)
			}
		}
		return nil
	}
	for _, p := range pools.Items {
		if off, _, _ := unstructured.NestedBool(p.Object, "spec", "disabled"); off {
			continue
		}
		if err := setPoolDisabledByFault(ctx, c, p.GetName(), true); err != nil {
			return nil, fmt.Errorf("%s: %w (and reverting: %v)", f.Name(), err, revert(context.WithoutCancel(ctx)))
		}
		disabled = append(disabled, p.GetName())
	}
	if len(disabled) == 0 {
		return nil, fmt.Errorf("%s: no enabled IPPool to disable", f.Name())
	}
	return revert, nil
}

// setPoolDisabledByFault disables a pool with the fault's mark, or enables it and drops the mark.
func setPoolDisabledByFault(ctx context.Context, c *Cluster, name string, disabled bool) error {
	mark := "null"
	if disabled {
		mark = `"true"`
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}},"spec":{"disabled":%t}}`, DisabledByFault, mark, disabled)
	if _, err := c.Dynamic.Resource(kube.CalicoIPPools).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set IPPool %s disabled=%t: %w", name, disabled, err)
	}
	return nil
}

// poolsDisabledByFault lists the pools the fault disabled.
func poolsDisabledByFault(ctx context.Context, c *Cluster) ([]string, error) {
	pools, err := c.Dynamic.Resource(kube.CalicoIPPools).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list IPPools: %w", err)
	}
	var out []string
	for _, p := range pools.Items {
		if p.GetAnnotations()[DisabledByFault] != "" {
			out = append(out, p.GetName())
		}
	}
	return out, nil
}

// cleanPoolsDisabled enables the pools the fault disabled.
func cleanPoolsDisabled(ctx context.Context, c *Cluster) ([]string, error) {
	names, err := poolsDisabledByFault(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := setPoolDisabledByFault(ctx, c, name, false); err != nil {
			return nil, err
		}
	}
	return names, nil
}
