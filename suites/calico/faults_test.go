package calico

import (
	"testing"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/testbed"
)

// The node the faults break: a worker, so the control plane keeps serving the API.
const brokenNode = clusterName + "-worker"

var problems = testbed.Problems()

func TestHealthyCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.HealthyFeature(problems))
}

// TestFaults proves on Calico the faults whose injection does not depend on the CNI's IPAM;
// pod-cidr-overlap on Calico (an IPPool over the node network) is not proven here yet.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	checks := testbed.Checks(problems)
	testenv.Test(t,
		cluster.Feature(testbed.Scenario{
			Fault:   faults.IPForwardOff{Node: brokenNode},
			Problem: doctor.IPForwardOff{},
			Checks:  checks,
			Breaks: func(tc testbed.TrafficCase) bool {
				return tc.Path == testbed.CrossNode && tc.From.Node == brokenNode
			},
		}),
		cluster.Feature(testbed.Scenario{
			Variant: faults.OverlayPortBlockedRawDrop,
			// Felix accepts VXLAN from known nodes in cali-INPUT ahead of INPUT rules: only a
			// rule before it, in raw PREROUTING, cuts Calico's overlay.
			Fault:   faults.OverlayPortBlocked{Node: brokenNode, Port: 4789, Mode: faults.OverlayPortBlockedRawDrop},
			Problem: doctor.OverlayPortBlocked{},
			Checks:  checks,
			Breaks: func(tc testbed.TrafficCase) bool {
				return tc.Path == testbed.CrossNode && (tc.From.Node == brokenNode || tc.To == brokenNode)
			},
		}),
		cluster.Feature(testbed.Scenario{
			Fault:   faults.CoreDNSForwardBroken{DeadService: testbed.Namespace + "/" + testbed.DeadUpstream},
			Problem: doctor.CoreDNSForwardBroken{},
			Checks:  checks,
			Breaks: func(tc testbed.TrafficCase) bool {
				return tc.Path == testbed.DNS && tc.Args[len(tc.Args)-1] == testbed.TestRecordName
			},
		}),
	)
}
