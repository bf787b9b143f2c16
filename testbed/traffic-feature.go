package testbed

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
)

// TrafficMatrixFeature proves that a healthy cluster of the given number of nodes carries real
// traffic on every path of the traffic matrix, one subtest per case. suite labels the feature.
func TrafficMatrixFeature(suite string, nodes int) features.Feature {
	return features.New("traffic matrix").WithLabel("suite", suite).
		Assess("every path carries real traffic", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
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
				t.Run(tc.Name, func(t *testing.T) {
					res, err := Probe(ctx, prober, tc.From, tc.Args...)
					require.NoError(t, err)
					assert.True(t, res.OK, "%s: %s", tc.Name, res.Error)
				})
			}
			// Per node: the pair of its two pods and every other node, HTTP and UDP each; the
			// Service; two DNS names; HTTP and UDP to the node-network host.
			assert.Equal(t, 2*nodes, perPath[SameNode])
			assert.Equal(t, 2*nodes*(nodes-1), perPath[CrossNode])
			assert.Equal(t, nodes, perPath[ClusterIP])
			assert.Equal(t, 2*nodes, perPath[DNS])
			assert.Equal(t, 2*nodes, perPath[NodeNetwork], "HTTP and UDP to the node-network host from every node")
			return ctx
		}).Feature()
}
