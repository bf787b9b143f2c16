// Package flannel proves netcert's detection and repair on a real 3-node kind cluster with Flannel:
// for each fault, one feature labelled fault=<id> (baseline, inject, symptom, detection, repair,
// verify with real traffic), plus a healthy-cluster feature. One fault:
//
//	go test ./suites/flannel -args --labels fault=ip-forward-off
package flannel

import (
	"fmt"
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/netcert/netcert/testbed"
)

const clusterName = "netcert-flannel"

var (
	testenv env.Environment
	cluster *testbed.Cluster
)

func TestMain(m *testing.M) {
	var err error
	testenv, err = env.NewFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flannel:", err)
		os.Exit(2)
	}
	if testing.Short() {
		fmt.Println("flannel: -short: skipping the kind suite")
		os.Exit(m.Run())
	}
	cfg, err := testbed.ConfigFromEnv(clusterName, "flannel", "10.244.0.0/16")
	if err != nil {
		fmt.Fprintln(os.Stderr, "flannel:", err)
		os.Exit(2)
	}
	cluster = testbed.New(cfg)
	testenv.Setup(cluster.Setup)
	testenv.Finish(cluster.Teardown)
	os.Exit(testenv.Run(m))
}
