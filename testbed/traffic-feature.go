package testbed

import (
	"context"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/reports"
)

// TrafficMatrixFeature proves that the healthy cluster of the given number of nodes carries real
// traffic on every path of the traffic matrix (case traffic-matrix in the report; a failing path
// is named in the step's messages).
func (c *Cluster) TrafficMatrixFeature(nodes int) features.Feature {
	const caseID = "traffic-matrix"
	return c.NewFeature(reports.Case{ID: caseID, Name: "traffic matrix", Fault: "none"}).WithLabel("suite", reportName(c.cfg.Name)).
		Assess(c.Step(caseID, "every path carries real traffic", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			r := cfg.Client().Resources()
			pods, err := ProbePods(ctx, r)
			require.NoError(t, err)
			onNode := map[string]bool{}
			for _, p := range pods {
				onNode[p.Node] = true
			}
			require.Len(t, onNode, nodes, "a probe pair on each of the %d nodes", nodes)
			require.Len(t, pods, 2*nodes)

			cases, err := TrafficMatrix(ctx, r)
			require.NoError(t, err)
			prober, err := NewProber(cfg)
			require.NoError(t, err)
			perPath := map[string]int{}
			for _, tc := range cases {
				perPath[tc.Path]++
				res, err := Probe(ctx, prober, tc.From, tc.Args...)
				require.NoError(t, err, tc.Name)
				assert.True(t, res.OK, "%s: %s", tc.Name, res.Error)
			}
			// Per node: the pair of its two pods and every other node, HTTP and UDP each; the
			// Service; two DNS names; HTTP and UDP to the node-network host.
			assert.Equal(t, 2*nodes, perPath[SameNode])
			assert.Equal(t, 2*nodes*(nodes-1), perPath[CrossNode])
			assert.Equal(t, nodes, perPath[ClusterIP])
			assert.Equal(t, 2*nodes, perPath[DNS])
			assert.Equal(t, 2*nodes, perPath[NodeNetwork], "HTTP and UDP to the node-network host from every node")
			return ctx
		})).Feature()
}
