package flannel

import (
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/testbed"
)

// The nodes the faults break: workers, so the control plane keeps serving the API.
const (
	brokenNode = clusterName + "-worker"
	otherNode  = clusterName + "-worker2"
)

var problems = doctor.Problems()

func checks() []doctor.Check { return doctor.Checks(problems) }

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
			Breaks: testbed.CrossNodeFrom(brokenNode),
		}),
		overlayFeature(faults.OverlayPortBlockedInputDrop),
		overlayFeature(faults.OverlayPortBlockedRawDrop),
		overlayFeature(faults.OverlayPortBlockedNftDrop),
		overlayFeature(faults.OverlayPortBlockedPeerDrop),
		overlayFeature(faults.OverlayPortBlockedSetChain),
		cluster.Feature(testbed.Scenario{
			Fault: faults.PodCIDROverlap{Node: brokenNode, TargetNode: otherNode},
			// The suite consents to deleting the node's overlapping route, as a person does with
			// `repair --delete-host-ranges`.
			Problem: doctor.PodCIDROverlap{DeleteHostRanges: true},
			Checks:  checks(),
			// The node sends what is meant for the first half of the target's podCIDR, where the
			// probe pods are, into the fault's veth.
			Breaks: func(tc testbed.TrafficCase) bool {
				return testbed.CrossNodeFrom(brokenNode)(tc) && tc.To == otherNode
			},
		}),
		cluster.Feature(testbed.Scenario{
			Fault:   faults.CoreDNSForwardBroken{DeadService: testbed.Namespace + "/" + testbed.DeadUpstream},
			Problem: doctor.CoreDNSForwardBroken{},
			Checks:  checks(),
			// Names outside the cluster domain go to the dead upstream; cluster names still resolve.
			Breaks: testbed.TestZoneDNS,
		}),
		// Cascades: one cause, several symptoms.
		cluster.ForwardOffUnderDNSUpstream(checks()),
		cluster.ProbeServiceRulesMissing(brokenNode, checks()),
	)
}

// overlayFeature proves overlay-port-blocked with one of the injector's rules: iptables-nft's
// filter INPUT, its raw PREROUTING, a native nft table, a rule per peer that names no port, or an
// ipset match in a user chain.
func overlayFeature(mode string) features.Feature {
	return cluster.Feature(testbed.Scenario{
		Variant: mode,
		Fault:   faults.OverlayPortBlocked{Node: brokenNode, Mode: mode},
		Problem: doctor.OverlayPortBlocked{},
		Checks:  checks(),
		// The node drops the VXLAN packets that reach it: requests to its pods and the replies
		// to its pods' requests.
		Breaks: testbed.CrossNodeVia(brokenNode),
	})
}
