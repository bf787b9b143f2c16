package calico

import (
	"context"
	"net/netip"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/testbed"
	"github.com/netcert/netcert/traffic"
)

// The node the faults break: a worker, so the control plane keeps serving the API.
const brokenNode = clusterName + "-worker"

var problems = doctor.Problems()

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
	checks := doctor.Checks(problems)
	testenv.Test(t,
		cluster.Feature(testbed.Scenario{
			Fault:   faults.IPForwardOff{Node: brokenNode},
			Problem: doctor.IPForwardOff{},
			Checks:  checks,
			Breaks:  testbed.CrossNodeFrom(brokenNode),
		}),
		cluster.Feature(testbed.Scenario{
			Variant: faults.OverlayPortBlockedRawDrop,
			// Felix accepts VXLAN from known nodes in cali-INPUT ahead of INPUT rules: only a
			// rule before it, in raw PREROUTING, cuts Calico's overlay.
			Fault:   faults.OverlayPortBlocked{Node: brokenNode, Port: 4789, Mode: faults.OverlayPortBlockedRawDrop},
			Problem: doctor.OverlayPortBlocked{},
			Checks:  checks,
			Breaks:  testbed.CrossNodeVia(brokenNode),
		}),
		cluster.Feature(testbed.Scenario{
			Variant: faults.OverlayPortBlockedPeerDrop,
			// No port named: every UDP packet from the other nodes, in raw PREROUTING.
			Fault:   faults.OverlayPortBlocked{Node: brokenNode, Port: 4789, Mode: faults.OverlayPortBlockedPeerDrop},
			Problem: doctor.OverlayPortBlocked{},
			Checks:  checks,
			Breaks:  testbed.CrossNodeVia(brokenNode),
		}),
		cluster.Feature(testbed.Scenario{
			Fault: faults.PodCIDROverlap{},
			// An IPPool over the /26 of the node-network host, with a workload on the broken node:
			// Calico routes the pool's block to that node (a blackhole there, VXLAN elsewhere).
			Prepare: func(ctx context.Context, cfg *envconf.Config) (faults.Fault, error) {
				host, _, err := testbed.NetworkHost(ctx, cfg.Client().Resources())
				if err != nil {
					return nil, err
				}
				return faults.PodCIDROverlap{Node: brokenNode, Pool: netip.PrefixFrom(host, 26).Masked().String(),
					Image: cluster.Config().Images.Probe, Namespace: testbed.Namespace}, nil
			},
			Problem: doctor.PodCIDROverlap{},
			Checks:  checks,
			Breaks:  func(tc testbed.TrafficCase) bool { return tc.Path == traffic.PodToNodeNetworkHost },
		}),
		cluster.Feature(testbed.Scenario{
			Fault:   faults.CoreDNSForwardBroken{DeadService: testbed.Namespace + "/" + testbed.DeadUpstream},
			Problem: doctor.CoreDNSForwardBroken{},
			Checks:  checks,
			Breaks:  testbed.TestZoneDNS,
		}),
		// Cascades: one cause, several symptoms.
		cluster.ForwardOffUnderDNSUpstream(checks),
		cluster.ProbeServiceRulesMissing(brokenNode, checks),
	)
}
