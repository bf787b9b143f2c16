package smoke

import (
	"testing"

	"github.com/netcert/netcert/doctor"
)

func TestTrafficMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.TrafficMatrixFeature(3))
}

func TestNodeAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.AgentFeature(doctor.Problems()))
}

// TestCertifyAndClean runs last: clean removes netcert's namespaces.
func TestCertifyAndClean(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.CertifyFeature())
}
