package testbed

import (
	"fmt"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/netcert/netcert/reports"
)

// NewSuite prepares a kind suite's environment from the e2e-framework flags (--labels, …): the
// cluster name is created in Setup and deleted in Finish. In -short mode the environment creates
// nothing (the suite's tests skip themselves) and the cluster is nil. Call it from TestMain, then
// RunSuite. An error is also written as the suite's report (a cluster that never came up).
func NewSuite(name, cni, podSubnet string, options ...func(*Config)) (env.Environment, *Cluster, error) {
	testenv, err := env.NewFromFlags()
	if err == nil && testing.Short() {
		return testenv, nil, nil
	}
	var cfg Config
	if err == nil {
		cfg, err = ConfigFromEnv(name, cni, podSubnet)
		for _, o := range options {
			o(&cfg)
		}
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
		rec := reports.NewRecorder(reportName(name), cni)
		rec.Infrastructure(0, err)
		writeReport(rec, suiteLogf(name))
		return nil, nil, err
	}
	cluster := New(cfg)
	testenv.Setup(cluster.Setup)
	testenv.Finish(cluster.Teardown)
	return testenv, cluster, nil
}

// RunSuite runs the suite's tests and then writes its report, whatever happened — also when the
// cluster never came up; it returns the exit code for os.Exit.
func RunSuite(testenv env.Environment, cluster *Cluster, m *testing.M) int {
	code := testenv.Run(m)
	if cluster != nil {
		writeReport(cluster.rec, cluster.cfg.Logf)
	}
	return code
}
