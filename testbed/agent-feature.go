package testbed

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/reports"
)

// AgentFeature proves node access through netcert's node agent (what the CLI uses on clusters
// that are not kind): installed on every node, every check reads through it what it reads through
// kind; ip-forward-off injected through kind is named, and repaired, through the agent; the agent
// is removed with its namespace at the end, as the CLI removes the agent it starts for a run.
func (c *Cluster) AgentFeature(problems []doctor.Problem) features.Feature {
	const caseID = "node-agent"
	step := func(name string, fn StepFunc) (string, features.Func) { return c.Step(caseID, name, fn) }
	var viaKind, viaAgent *doctor.Cluster
	var fc *faults.Cluster
	var featureT *testing.T
	var releaseAgent func(context.Context) error
	return c.NewFeature(reports.Case{ID: caseID, Name: "node agent", Fault: "none"}).
		WithSetup("connect to the cluster", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var err error
			viaKind, fc, err = c.Targets(cfg)
			require.NoError(t, err)
			featureT = t
			return ctx
		}).
		Assess(step("install the agent on every node", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			client, err := kubernetes.NewForConfig(restConfig(cfg))
			require.NoError(t, err)
			start := time.Now()
			nodes, release, err := node.EnsureAgent(ctx, restConfig(cfg), client, c.cfg.Images.Agent, 2*time.Minute, false, io.Discard)
			require.NoError(t, err)
			releaseAgent = release
			featureT.Cleanup(func() { assert.NoError(featureT, release(context.Background())) })
			pods, err := client.CoreV1().Pods(node.AgentNamespace).List(ctx, metav1.ListOptions{LabelSelector: node.AgentSelector})
			require.NoError(t, err)
			for _, p := range pods.Items {
				for _, m := range p.Spec.Containers[0].VolumeMounts {
					assert.NotContains(t, m.MountPath, "serviceaccount", "%s mounts an API token", p.Name)
				}
			}
			require.Len(t, nodes, len(viaKind.Nodes))
			agentCluster := *viaKind
			agentCluster.Nodes = nodes
			viaAgent = &agentCluster
			c.cfg.Logf("netcert agent on %d nodes in %s", len(nodes), since(start))
			return ctx
		})).
		Assess(step("every check reads the same through the agent as through kind", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			for _, p := range problems {
				want, err := p.Run(ctx, viaKind)
				require.NoError(t, err, p.ID())
				got, err := p.Run(ctx, viaAgent)
				require.NoError(t, err, "%s through the agent", p.ID())
				assert.Equal(t, verdicts(want), verdicts(got), p.ID())
			}
			return ctx
		})).
		Assess(step("ip-forward-off injected through kind is named and repaired through the agent", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			worker := viaKind.Nodes[slices.IndexFunc(viaKind.Nodes, func(n node.Node) bool { return n.Name() != c.cfg.Name+"-control-plane" })].Name()
			revert, err := faults.IPForwardOff{Node: worker}.Inject(ctx, fc)
			require.NoError(t, err)
			featureT.Cleanup(func() { assert.NoError(featureT, revert(context.Background())) })
			check := doctor.IPForwardOff{}
			findings, err := check.Run(ctx, viaAgent)
			require.NoError(t, err)
			failed := doctor.Failed(findings)
			require.Len(t, failed, 1, "%v", findings)
			assert.Equal(t, worker, failed[0].Node)
			plan, err := check.Plan(ctx, viaAgent, findings)
			require.NoError(t, err)
			_, err = check.Apply(ctx, viaAgent, plan)
			require.NoError(t, err)
			findings, err = check.Run(ctx, viaKind)
			require.NoError(t, err)
			assert.Empty(t, doctor.Failed(findings), "kind sees the repair the agent made")
			// The persisted setting lands on the node's own file system, not in the agent's.
			kindWorker := viaKind.Nodes[slices.IndexFunc(viaKind.Nodes, func(n node.Node) bool { return n.Name() == worker })]
			persisted, err := node.Run(ctx, kindWorker, "grep", "-r", "net.ipv4.ip_forward", "/etc/sysctl.d")
			require.NoError(t, err)
			assert.Contains(t, persisted, "netcert", "the repair's sysctl.d drop-in on %s", worker)
			return ctx
		})).
		Assess(step("the run's agent is removed with its namespace", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			require.NoError(t, releaseAgent(ctx))
			client, err := kubernetes.NewForConfig(restConfig(cfg))
			require.NoError(t, err)
			_, err = client.CoreV1().Namespaces().Get(ctx, node.AgentNamespace, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "namespace %s: %v", node.AgentNamespace, err)
			return ctx
		})).Feature()
}

// verdicts are a check's findings without their wording: what, where, which status.
func verdicts(findings []doctor.Finding) []string {
	var out []string
	for _, f := range findings {
		out = append(out, fmt.Sprintf("%s %s %s %s", f.Check, f.Node, f.Object, f.Status))
	}
	slices.Sort(out)
	return out
}
