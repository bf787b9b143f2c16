package traffic

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPeers(t *testing.T) {
	assert.Equal(t, []int{0, 2}, Peers(1, 3), "a small cluster: every other node")
	assert.Len(t, Peers(0, FullMeshUpTo), FullMeshUpTo-1)
	assert.Equal(t, []int{1, 2, 4, 8, 16}, Peers(0, 17))
	assert.Equal(t, []int{0, 1, 3, 7, 15}, Peers(16, 17), "wrapping around")

	// 500 nodes: 9 peers each, every node received from 9 times, nobody sends to itself.
	received := make([]int, 500)
	for i := range 500 {
		peers := Peers(i, 500)
		assert.Len(t, peers, 9)
		assert.NotContains(t, peers, i)
		for _, j := range peers {
			received[j]++
		}
	}
	for j, n := range received {
		assert.Equal(t, 9, n, "node %d", j)
	}
}
