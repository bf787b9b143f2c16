package smoke

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/testbed"
)

func TestTrafficMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kind cluster")
	}
	matrix := features.New("traffic matrix").WithLabel("suite", "smoke").
		Assess("every path carries real traffic", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			r := cfg.Client().Resources()
			pods, err := testbed.ProbePods(ctx, r)
			require.NoError(t, err)
			nodes := map[string]bool{}
			for _, p := range pods {
				nodes[p.Node] = true
			}
			require.Len(t, nodes, 3, "a probe pair on each of the 3 nodes")
			require.Len(t, pods, 6)

			cases, err := testbed.TrafficMatrix(ctx, r)
			require.NoError(t, err)
			prober, err := testbed.NewProber(cfg)
			require.NoError(t, err)
			perPath := map[string]int{}
			for _, tc := range cases {
				perPath[tc.Path]++
				t.Run(tc.Name, func(t *testing.T) {
					res, err := testbed.Probe(ctx, prober, tc.From, tc.Args...)
					require.NoError(t, err)
					assert.True(t, res.OK, "%s: %s", tc.Name, res.Error)
				})
			}
			// 3 nodes: 3 same-node pairs and 6 ordered cross-node pairs, HTTP and UDP each.
			assert.Equal(t, 6, perPath[testbed.SameNode])
			assert.Equal(t, 12, perPath[testbed.CrossNode])
			assert.Equal(t, 3, perPath[testbed.ClusterIP])
			assert.Equal(t, 6, perPath[testbed.DNS])
			assert.Equal(t, 6, perPath[testbed.NodeNetwork], "HTTP and UDP to the node-network host from every node")
			return ctx
		}).Feature()
	testenv.Test(t, matrix)
}
