package traffic

import "slices"

// Selectors pick the cases of a matrix that a fault breaks.

// CrossNodeFrom selects the pod-to-pod cases across nodes that node's pods send.
func CrossNodeFrom(node string) func(Case) bool {
	return func(tc Case) bool { return tc.Path == PodToPodCrossNode && tc.From.Node == node }
}

// CrossNodeVia selects the pod-to-pod cases across nodes that node's pods send or receive.
func CrossNodeVia(node string) func(Case) bool { return BetweenNodesOnPath(node, PodToPodCrossNode) }

// BetweenNodesOnPath selects the cases of one path between two nodes, one of them node.
func BetweenNodesOnPath(node, path string) func(Case) bool {
	return func(tc Case) bool {
		return tc.Path == path && tc.To != tc.From.Node && (tc.From.Node == node || tc.To == node)
	}
}

// CrossNodeBetween selects the pod-to-pod cases from node's pods to to's pods.
func CrossNodeBetween(node, to string) func(Case) bool {
	return func(tc Case) bool { return tc.Path == PodToPodCrossNode && tc.From.Node == node && tc.To == to }
}

// OnPath selects the cases of the paths.
func OnPath(paths ...string) func(Case) bool {
	return func(tc Case) bool { return slices.Contains(paths, tc.Path) }
}

// FromNodeOnPath selects the cases of one path that node's pods send.
func FromNodeOnPath(node, path string) func(Case) bool {
	return func(tc Case) bool { return tc.Path == path && tc.From.Node == node }
}
