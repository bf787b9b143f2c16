package calico

import (
	"testing"

	"github.com/netcert/netcert/testbed"
)

func TestTrafficMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, testbed.TrafficMatrixFeature("calico", 3))
}
