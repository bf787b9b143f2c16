package kube

import corev1 "k8s.io/api/core/v1"

// PodCIDRs returns the node's pod ranges: spec.podCIDRs, or the older spec.podCIDR alone.
func PodCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return n.Spec.PodCIDRs
}
