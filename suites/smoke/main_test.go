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

var testenv env.Environment

func TestMain(m *testing.M) {
	var err error
	testenv, err = env.NewFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(2)
	}
	if testing.Short() {
		fmt.Println("smoke: -short: skipping the kind suite")
		os.Exit(m.Run())
	}
	cfg, err := testbed.ConfigFromEnv("netcert-smoke", "flannel", "10.244.0.0/16")
	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(2)
	}
	cluster := testbed.New(cfg)
	testenv.Setup(cluster.Setup)
	testenv.Finish(cluster.Teardown)
	os.Exit(testenv.Run(m))
}
