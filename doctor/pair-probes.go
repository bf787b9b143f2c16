package doctor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/netcert/netcert/traffic"
)

// probeResult is one pod-to-pod probe.
type probeResult struct {
	from, to string
	ok       bool
	ev       Evidence
}

func (r probeResult) String() string { return r.from + "→" + r.to }

// probePairs probes every ordered pair of distinct nodes (each node's traffic.Peers in a large
// cluster), or every pair involving one node, a few at a time; the results keep the order of the
// nodes.
func probePairs(ctx context.Context, c *Cluster, involving string) ([]probeResult, error) {
	var out []probeResult
	for i, a := range c.Nodes {
		for j, b := range c.Nodes {
			from, to := a.Name(), b.Name()
			switch {
			case from == to:
			case involving != "":
				if from == involving || to == involving {
					out = append(out, probeResult{from: from, to: to})
				}
			case slices.Contains(traffic.Peers(i, len(c.Nodes)), j):
				out = append(out, probeResult{from: from, to: to})
			}
		}
	}
	return out, runProbes(ctx, c, out)
}

// runProbes sends every pair's probe at once and records what each showed.
func runProbes(ctx context.Context, c *Cluster, pairs []probeResult) error {
	sent := make([]NodePair, len(pairs))
	for i, pr := range pairs {
		sent[i] = NodePair{From: pr.from, To: pr.to}
	}
	got, err := c.Probe.PodPairs(ctx, sent)
	if err == nil && len(got) != len(sent) {
		err = fmt.Errorf("%d results for %d probes", len(got), len(sent))
	}
	if err != nil {
		return fmt.Errorf("probe pod traffic between nodes: %w", err)
	}
	for i := range pairs {
		pairs[i].ok, pairs[i].ev = got[i].OK, got[i].Evidence
	}
	return nil
}

// probeList names the pairs, sorted: "a→b, b→a".
func probeList(list []probeResult) string {
	var s []string
	for _, pr := range list {
		s = append(s, pr.String())
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
