// Package nftables runs the kube-proxy axis of the certification: a 3-node Flannel cluster whose
// kube-proxy programs Services with nftables (kind-configs/flannel-nftables.yaml) carries the
// traffic matrix, passes every check, and the faults whose detection reads kube-proxy's data
// plane are named and repaired there as in iptables mode.
//
//	go test ./suites/nftables -args --labels fault=kube-proxy-rules-missing
package nftables

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
	if testenv, cluster, err = testbed.NewSuite("netcert-nftables", "flannel", "10.244.0.0/16", testbed.KubeProxyNftables); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(testbed.RunSuite(testenv, cluster, m))
}
