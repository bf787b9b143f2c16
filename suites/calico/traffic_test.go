package calico

import "testing"

func TestTrafficMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.TrafficMatrixFeature(3))
}
