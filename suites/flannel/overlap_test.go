package flannel

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/testbed"
)

// The cluster created with a pod subnet inside its nodes' network (kind-configs/flannel-overlap.yaml).
const (
	overlapCluster    = "netcert-overlap"
	overlapNodeSubnet = "10.250.0.0/16"
	overlapPodSubnet  = "10.250.128.0/17"
)

// TestOverlappingPodSubnet creates a second cluster whose pod subnet overlaps the node network and
// proves that pod-cidr-overlap names it and plans only manual steps. The cluster lives for this
// feature alone: its setup creates it and the feature's cleanup deletes it with its network.
func TestOverlappingPodSubnet(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	var dc *doctor.Cluster
	var findings []doctor.Finding
	var featureT *testing.T // the steps run in subtests: the cluster's deletion belongs to the feature
	const caseID = "pod-cidr-overlap/overlapping-pod-subnet"
	step := func(name string, fn testbed.StepFunc) (string, features.Func) { return cluster.Step(caseID, name, fn) }
	feature := cluster.NewFeature(reports.Case{ID: caseID, Name: "pod-cidr-overlap: cluster created with an overlapping pod subnet",
		Fault: "pod-cidr-overlap", Variant: "overlapping-pod-subnet"}).WithLabel("case", "overlapping-pod-subnet").
		WithSetup("keep the feature's T", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			featureT = t
			return ctx
		}).
		WithSetup(step("create a cluster whose pod subnet lies inside its node network", func(ctx context.Context, t testbed.T, _ *envconf.Config) context.Context {
			cfg, err := testbed.ConfigFromEnv(overlapCluster, "flannel", overlapPodSubnet)
			require.NoError(t, err)
			root, err := testbed.RepoRoot()
			require.NoError(t, err)
			cfg.KindConfig = filepath.Join(root, "kind-configs", "flannel-overlap.yaml")
			cfg.NodeSubnet = overlapNodeSubnet
			overlap := testbed.New(cfg)
			envCfg := envconf.New() // its own kubeconfig: the suite's cluster stays the default
			featureT.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				_, err := overlap.Teardown(ctx, envCfg)
				assert.NoError(featureT, err, "delete cluster %s", overlapCluster)
			})
			_, err = overlap.Setup(ctx, envCfg)
			require.NoError(t, err)
			dc, _, err = overlap.Targets(envCfg)
			require.NoError(t, err)
			return ctx
		})).
		Assess(step("detection names the pod network overlapping the node network", func(ctx context.Context, t testbed.T, _ *envconf.Config) context.Context {
			var err error
			start := time.Now()
			findings, err = doctor.PodCIDROverlap{}.Run(ctx, dc)
			require.NoError(t, err)
			failed := doctor.Failed(findings)
			require.Len(t, failed, 1, "one cluster-wide finding: %v", findings)
			assert.Equal(t, "pod network "+overlapPodSubnet, failed[0].Object)
			assert.Contains(t, failed[0].Summary, "overlaps the node network "+overlapNodeSubnet)
			assert.NotEmpty(t, failed[0].Evidence)
			t.Logf("detected: %s", failed[0])
			cluster.RecordDetection(caseID, time.Since(start), failed)
			return ctx
		})).
		Assess(step("the repair plan is manual and applying it changes nothing", func(ctx context.Context, t testbed.T, _ *envconf.Config) context.Context {
			plan, err := doctor.PodCIDROverlap{}.Plan(ctx, dc, findings)
			require.NoError(t, err)
			assert.Empty(t, plan.Actions, "nothing may be changed automatically")
			require.NotEmpty(t, plan.Manual)
			t.Logf("manual plan: %q", plan.Manual)
			assert.Contains(t, plan.Manual[0], "re-create the cluster with a pod subnet that does not overlap "+overlapNodeSubnet)
			_, err = doctor.PodCIDROverlap{}.Apply(ctx, dc, plan)
			assert.ErrorContains(t, err, "needs manual steps")
			after, err := doctor.PodCIDROverlap{}.Run(ctx, dc)
			require.NoError(t, err)
			assert.Equal(t, verdicts(findings), verdicts(after), "the refused plan left the cluster as it was")
			return ctx
		})).Feature()
	testenv.Test(t, feature)
}

// verdicts lists what each finding says, without the evidence's command output.
func verdicts(findings []doctor.Finding) []string {
	var out []string
	for _, f := range findings {
		out = append(out, f.String())
	}
	return out
}
