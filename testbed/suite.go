package testbed

import (
	"fmt"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"
)

// NewSuite prepares a kind suite's environment from the e2e-framework flags (--labels, …): the
// cluster name is created in Setup and deleted in Finish. In -short mode the environment creates
// nothing (the suite's tests skip themselves) and the cluster is nil. Call it from TestMain and
// pass the environment's Run result to os.Exit.
func NewSuite(name, cni, podSubnet string) (env.Environment, *Cluster, error) {
	testenv, err := env.NewFromFlags()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if testing.Short() {
		return testenv, nil, nil
	}
	cfg, err := ConfigFromEnv(name, cni, podSubnet)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	cluster := New(cfg)
	testenv.Setup(cluster.Setup)
	testenv.Finish(cluster.Teardown)
	return testenv, cluster, nil
}
