package doctor

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Explain orders a sweep's findings by cause and marks consequences: a Fail about traffic (it
// names the nodes its traffic crossed) is a consequence of a node-level Fail on one of those
// nodes (ip_forward off, an overlay drop, missing Service rules: a Fail with a node and no
// traffic of its own), preferring a cause that names one of its Services, or of a Fail that
// breaks an address range holding one of its endpoints or one of its Services' (an IP pool over
// the node network, a NetworkPolicy isolating pods);
// CausedBy then names that cause, and it is no second root cause. The result lists the root causes first (node-level
// ones before the others, each group in its input order), then the consequences; other findings
// keep their order after the Fails. The input is not changed.
func Explain(findings []Finding) []Finding {
	all := slices.Clone(findings)
	var causes []int
	for i, f := range all {
		if isNodeCause(f) || isRangeCause(f) {
			causes = append(causes, i)
		}
	}
	for i := range all {
		f := &all[i]
		if f.Status != Fail || len(f.Crosses) == 0 {
			continue
		}
		f.CausedBy = ""
		best := -1
		for _, ci := range causes {
			c := all[ci]
			if isRangeCause(c) {
				if best < 0 && (inRanges(f.Endpoints, c.Ranges) || intersects(c.Services, f.Services)) {
					best = ci
				}
				continue
			}
			if !slices.Contains(f.Crosses, c.Node) {
				continue
			}
			if len(c.Services) > 0 && !intersects(c.Services, f.Services) {
				continue // it breaks other Services
			}
			if best < 0 || isRangeCause(all[best]) || (len(c.Services) > 0 && len(all[best].Services) == 0) {
				best = ci
			}
		}
		if best >= 0 {
			f.CausedBy = all[best].Ref()
		}
	}
	rank := func(f Finding) int {
		switch {
		case f.Status == Fail && f.CausedBy == "" && (isNodeCause(f) || isRangeCause(f)):
			return 0
		case f.Status == Fail && f.CausedBy == "":
			return 1
		case f.Status == Fail:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(all, func(a, b Finding) int { return rank(a) - rank(b) })
	return all
}

// isNodeCause reports whether f is a failure of one node's own state, not of traffic through it.
func isNodeCause(f Finding) bool {
	return f.Status == Fail && f.Node != "" && f.Path == "" && len(f.Crosses) == 0
}

// isRangeCause reports whether f is a failure that breaks the traffic of address ranges.
func isRangeCause(f Finding) bool {
	return f.Status == Fail && len(f.Ranges) > 0 && f.Path == "" && len(f.Crosses) == 0
}

// inRanges reports whether one of the addresses lies in one of the CIDRs.
func inRanges(addrs, cidrs []string) bool {
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil && p.Contains(ip) {
				return true
			}
		}
	}
	return false
}

func intersects(a, b []string) bool {
	return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
}

// RootCauses returns the Fail findings that no other finding explains.
func RootCauses(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Status == Fail && f.CausedBy == "" {
			out = append(out, f)
		}
	}
	return out
}

// Sweep runs every check and concludes (see Conclude: the findings explained, the drops of
// unexplained failing traffic located); it stops at the first check that cannot evaluate.
func Sweep(ctx context.Context, c *Cluster, checks []Check) ([]Finding, error) {
	findings, _, err := SweepEach(ctx, c, checks)
	return findings, err
}

// SweepEach is Sweep, with each check's run (how long it took).
func SweepEach(ctx context.Context, c *Cluster, checks []Check) ([]Finding, []Result, error) {
	findings, results, err := diagnose(ctx, c, checks)
	if err != nil {
		return findings, results, err
	}
	return Conclude(ctx, c, findings), results, nil
}

// Slowest names the n checks that took longest, e.g. "traffic-path-broken 6.1s, mtu-mismatch 2s".
func Slowest(results []Result, n int) string {
	sorted := slices.Clone(results)
	slices.SortStableFunc(sorted, func(a, b Result) int { return cmp.Compare(b.Took, a.Took) })
	var parts []string
	for _, r := range sorted[:min(n, len(sorted))] {
		parts = append(parts, fmt.Sprintf("%s %s", r.Check, r.Took.Round(100*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}
