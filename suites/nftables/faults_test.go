package nftables

import (
	"testing"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/registry"
)

// faultIDs are the faults whose symptom or detection goes through kube-proxy's data plane: its
// Service chains, the NAT that br_netfilter lets it see on the bridge, the hairpin masquerade.
var faultIDs = []string{
	registry.KubeProxyRulesMissing,
	registry.BridgeNFCallOff,
	registry.HairpinOff,
}

func TestTrafficMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	testenv.Test(t, cluster.TrafficMatrixFeature(3))
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
	testenv.Test(t, cluster.Faults(faultIDs...)...)
}
