package traffic

// FullMeshUpTo is the largest cluster in which every node sends to every other node (pod to pod,
// and overlay-port-blocked's probes). Above it, node i of n sends to the nodes at offsets 1, 2, 4,
// … (below n) in node order: about log2(n) peers each, and each node is received from as often,
// so a sweep sends O(n log n) probes instead of O(n²) while every node still sends and receives
// through several others.
const FullMeshUpTo = 16

// Peers returns the indexes of the nodes that node i of n sends to.
func Peers(i, n int) []int {
	var out []int
	if n <= FullMeshUpTo {
		for j := range n {
			if j != i {
				out = append(out, j)
			}
		}
		return out
	}
	for off := 1; off < n; off *= 2 {
		out = append(out, (i+off)%n)
	}
	return out
}
