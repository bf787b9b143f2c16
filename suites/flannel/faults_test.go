package flannel

import (
	"testing"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/testbed"
)

// The node the faults break: a worker, so the control plane keeps serving the API.
const brokenNode = clusterName + "-worker"

// problems are the checks and repairs the suite proves; every check runs in every feature, so a
// fault must be named by its own check and by no other.
var problems = []doctor.Problem{doctor.IPForwardOff{}}

func checks() []doctor.Check {
	out := make([]doctor.Check, len(problems))
	for i, p := range problems {
		out[i] = p
	}
	return out
}

func TestHealthyCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.HealthyFeature(problems))
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t,
		cluster.Feature(testbed.Scenario{
			Fault:   faults.IPForwardOff{Node: brokenNode},
			Problem: doctor.IPForwardOff{},
			Checks:  checks(),
			// Without forwarding the node routes nothing to or from its pods off the node.
			Breaks: func(tc testbed.TrafficCase) bool {
				return tc.Path == testbed.CrossNode && tc.From.Node == brokenNode
			},
		}),
	)
}
