package testbed

import (
	"context"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/traffic"
)

// TrafficMatrixFeature proves that the healthy cluster of the given number of nodes carries real
// traffic on every path of the traffic matrix (case traffic-matrix in the report; a failing path
// is named in the step's messages).
func (c *Cluster) TrafficMatrixFeature(nodes int) features.Feature {
	const caseID = "traffic-matrix"
	return c.NewFeature(reports.Case{ID: caseID, Name: "traffic matrix", Fault: "none"}).WithLabel("suite", reportName(c.cfg.Name)).
		Assess(c.Step(caseID, "every path carries real traffic", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			pods, err := ProbePods(ctx, cfg)
			require.NoError(t, err)
			onNode := map[string]bool{}
			for _, p := range pods {
				onNode[p.Node] = true
			}
			require.Len(t, onNode, nodes, "a probe pair on each of the %d nodes", nodes)
			require.Len(t, pods, 2*nodes)

			cases, results := c.runTraffic(ctx, t, cfg)
			perPath := map[string]int{}
			for i, tc := range cases {
				perPath[tc.Path]++
				assert.True(t, results[i].OK, "%s %s: %s", tc.Path, tc.Name, results[i].Error)
			}
			c.recordPaths(caseID, cases, results)
			// Per node: its pod's peer container; the pair of its two pods and every other node,
			// HTTP and UDP each; the Service; the NodePort from outside; two DNS names; HTTP and UDP
			// to the node-network host.
			assert.Equal(t, nodes, perPath[traffic.ContainerToContainer])
			assert.Equal(t, 2*nodes, perPath[traffic.PodToPodSameNode])
			assert.Equal(t, 2*nodes*(nodes-1), perPath[traffic.PodToPodCrossNode])
			assert.Equal(t, nodes, perPath[traffic.PodToClusterIP])
			assert.Equal(t, nodes, perPath[traffic.ExternalToNodePort])
			assert.Equal(t, nodes, perPath[traffic.DNSClusterName])
			assert.Equal(t, nodes, perPath[traffic.DNSTestZone])
			assert.Equal(t, 2*nodes, perPath[traffic.PodToNodeNetworkHost], "HTTP and UDP to the node-network host from every node")
			return ctx
		})).Feature()
}
