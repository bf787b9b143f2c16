// Package smoke creates a real kind cluster with Flannel from the images of the selected mode and
// proves with real traffic that it works: pod to pod on one node and across every node pair, pod to
// a ClusterIP Service, and DNS for a cluster name and for netcert's test zone.
package smoke

import (
	"fmt"
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/netcert/netcert/testbed"
)

var (
	testenv env.Environment
	cluster *testbed.Cluster
)

func TestMain(m *testing.M) {
	var err error
	if testenv, cluster, err = testbed.NewSuite("netcert-smoke", "flannel", "10.244.0.0/16"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(testbed.RunSuite(testenv, cluster, m))
}
