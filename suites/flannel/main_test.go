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
	if testenv, cluster, err = testbed.NewSuite(clusterName, "flannel", "10.244.0.0/16"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(testbed.RunSuite(testenv, cluster, m))
}
