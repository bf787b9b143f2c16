// Package calico creates a real 3-node kind cluster with Calico (VXLAN data plane, images built
// from source) and proves with real traffic that it works: pod to pod on one node and across every
// node pair, pod to a ClusterIP Service, DNS, and pod to a host of the node network.
package calico

import (
	"fmt"
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/netcert/netcert/testbed"
)

const clusterName = "netcert-calico"

var (
	testenv env.Environment
	cluster *testbed.Cluster
)

func TestMain(m *testing.M) {
	var err error
	if testenv, cluster, err = testbed.NewSuite(clusterName, "calico", "10.248.0.0/16"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(testbed.RunSuite(testenv, cluster, m))
}
