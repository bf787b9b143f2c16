package doctor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

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

// runProbes sends each pair's probe, a few at a time, and records what it showed.
func runProbes(ctx context.Context, c *Cluster, pairs []probeResult) error {
	errs := make([]error, len(pairs))
	slots := make(chan struct{}, traffic.Workers)
	var wg sync.WaitGroup
	for i := range pairs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			pr := &pairs[i]
			pr.ok, pr.ev, errs[i] = c.Probe.PodToPod(ctx, pr.from, pr.to)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("probe pod traffic %s: %w", pairs[i], err)
		}
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
