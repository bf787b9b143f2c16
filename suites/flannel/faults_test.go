package flannel

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/registry"
)

// faultIDs are the faults this suite certifies, each with every injector the registry has for
// Flannel; TestCertifiesEveryFault keeps the list whole.
var faultIDs = []string{
	registry.IPForwardOff,
	registry.BridgeNFCallOff,
	registry.RPFilterStrict,
	registry.CNIBridgeDown,
	registry.CNIBridgeWrongAddress,
	registry.FlannelSubnetStale,
	registry.VethDetached,
	registry.HairpinOff,
	registry.MTUMismatch,
	registry.ConntrackFull,
	registry.ForwardPolicyDrop,
	registry.OverlayPortBlocked,
	registry.PodCIDROverlap,
	registry.CalicoIPPoolExhausted,
	registry.KubeProxyRulesMissing,
	registry.NodeResolvConfBroken,
	registry.CoreDNSLoop,
	registry.CoreDNSForwardBroken,
	registry.NetworkPolicyBlocks,
}

func TestHealthyCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.HealthyFeature(doctor.Problems()))
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	// And a cascade: one cause, several symptoms.
	testenv.Test(t, append(cluster.Faults(faultIDs...), cluster.ForwardOffUnderDNSUpstream())...)
}

func TestCertifiesEveryFault(t *testing.T) {
	assert.Empty(t, registry.Missing(faultIDs), "faults of the registry this suite does not list")
}
