package faults

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkPolicyBlocksPolicy names the policy the fault creates; FaultLabel marks it for clean.
const (
	NetworkPolicyBlocksPolicy = "netcert-fault-isolate"
	FaultLabel                = "netcert.io/fault"
)

// NetworkPolicyBlocks creates a NetworkPolicy that isolates the pods of Namespace labelled
// Isolate for ingress and admits only the pods labelled Admit, as a default deny with an allow
// for an app's own pods does: every other pod's traffic to them is denied where the CNI enforces
// policies. Revert deletes it.
type NetworkPolicyBlocks struct {
	Namespace      string
	Isolate, Admit map[string]string
}

// Name returns "network-policy-blocks".
func (NetworkPolicyBlocks) Name() string { return "network-policy-blocks" }

// AppliesTo: Flannel enforces no NetworkPolicy.
func (NetworkPolicyBlocks) AppliesTo(cni string) bool { return cni != "flannel" }

// Inject creates the policy; it refuses if one of that name exists.
func (f NetworkPolicyBlocks) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("%s: needs the Kubernetes API", f.Name())
	}
	policies := c.Client.NetworkingV1().NetworkPolicies(f.Namespace)
	p := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: NetworkPolicyBlocksPolicy, Namespace: f.Namespace, Labels: map[string]string{FaultLabel: f.Name()}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: f.Isolate},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
				{PodSelector: &metav1.LabelSelector{MatchLabels: f.Admit}}}}},
		},
	}
	if _, err := policies.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("%s: create NetworkPolicy %s/%s: %w", f.Name(), f.Namespace, NetworkPolicyBlocksPolicy, err)
	}
	return func(ctx context.Context) error {
		err := policies.Delete(ctx, NetworkPolicyBlocksPolicy, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s: delete NetworkPolicy %s/%s: %w", f.Name(), f.Namespace, NetworkPolicyBlocksPolicy, err)
		}
		return nil
	}, nil
}

// cleanPolicies deletes the NetworkPolicies a fault created, in every namespace.
func cleanPolicies(ctx context.Context, c *Cluster) ([]string, error) {
	list, err := c.Client.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{LabelSelector: FaultLabel})
	if err != nil {
		return nil, fmt.Errorf("list the NetworkPolicies of netcert's faults: %w", err)
	}
	var done []string
	for _, p := range list.Items {
		err := c.Client.NetworkingV1().NetworkPolicies(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return done, fmt.Errorf("delete NetworkPolicy %s/%s: %w", p.Namespace, p.Name, err)
		}
		done = append(done, p.Namespace+"/"+p.Name)
	}
	return done, nil
}
