package faults

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/netcert/netcert/kube"
)

// SelectorBeforeFault is the annotation on an IPPool whose nodeSelector calico-ippool-exhausted
// replaced: it holds the selector before, which revert and clean put back.
const SelectorBeforeFault = "netcert.io/node-selector-before-fault"

// noNode is a Calico selector that selects no node.
const noNode = "!all()"

// CalicoIPPoolExhausted gives every enabled IPPool a nodeSelector that selects no node, as a
// selector naming a label the nodes do not carry does: Calico's IPAM then gives a new pod no
// address ("no configured Calico pools for node"), while running pods keep theirs and their
// routes. Revert puts the selectors back. (Disabling the pools instead also broke running pods'
// traffic on this Calico, measured: it is no fault of new pods alone.)
type CalicoIPPoolExhausted struct{}

// Name returns "calico-ippool-exhausted".
func (CalicoIPPoolExhausted) Name() string { return "calico-ippool-exhausted" }

// AppliesTo: the pools are Calico's.
func (CalicoIPPoolExhausted) AppliesTo(cni string) bool { return cni == "calico" }

// Inject replaces the enabled pools' selectors, each marked with the selector before.
func (f CalicoIPPoolExhausted) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Dynamic == nil {
		return nil, fmt.Errorf("%s: needs the dynamic Kubernetes client (Calico's IPPools)", f.Name())
	}
	pools, err := c.Dynamic.Resource(kube.CalicoIPPools).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: list IPPools: %w", f.Name(), err)
	}
	before := map[string]string{}
	revert := func(ctx context.Context) error {
		for name, sel := range before {
			if err := setPoolSelector(ctx, c, name, sel, nil); err != nil {
				return fmt.Errorf("%s: %w", f.Name(), err)
			}
		}
		return nil
	}
	for _, p := range pools.Items {
		if off, _, _ := unstructured.NestedBool(p.Object, "spec", "disabled"); off {
			continue
		}
		sel, _, _ := unstructured.NestedString(p.Object, "spec", "nodeSelector")
		if sel == "" {
			sel = "all()"
		}
		if err := setPoolSelector(ctx, c, p.GetName(), noNode, &sel); err != nil {
			return nil, fmt.Errorf("%s: %w (and reverting: %v)", f.Name(), err, revert(context.WithoutCancel(ctx)))
		}
		before[p.GetName()] = sel
	}
	if len(before) == 0 {
		return nil, fmt.Errorf("%s: no enabled IPPool", f.Name())
	}
	return revert, nil
}

// setPoolSelector sets a pool's nodeSelector and its mark: the selector before (nil: no mark).
func setPoolSelector(ctx context.Context, c *Cluster, name, sel string, mark *string) error {
	var annotation any
	if mark != nil {
		annotation = *mark
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{SelectorBeforeFault: annotation}},
		"spec": map[string]any{"nodeSelector": sel}})
	if err != nil {
		return err
	}
	if _, err := c.Dynamic.Resource(kube.CalicoIPPools).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set IPPool %s nodeSelector %q: %w", name, sel, err)
	}
	return nil
}

// poolsSelectedAway returns the pools the fault changed, with the selector each had before.
func poolsSelectedAway(ctx context.Context, c *Cluster) (map[string]string, error) {
	pools, err := c.Dynamic.Resource(kube.CalicoIPPools).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list IPPools: %w", err)
	}
	out := map[string]string{}
	for _, p := range pools.Items {
		if sel, ok := p.GetAnnotations()[SelectorBeforeFault]; ok {
			out[p.GetName()] = sel
		}
	}
	return out, nil
}

// cleanPoolSelectors puts back the selectors the fault replaced.
func cleanPoolSelectors(ctx context.Context, c *Cluster) ([]string, error) {
	pools, err := poolsSelectedAway(ctx, c)
	if err != nil {
		return nil, err
	}
	var done []string
	for name, sel := range pools {
		if err := setPoolSelector(ctx, c, name, sel, nil); err != nil {
			return done, err
		}
		done = append(done, name)
	}
	return done, nil
}
