package doctor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// KubeProxyRulesMissing is the check and repair for kube-proxy-rules-missing: the rules that
// kube-proxy programs on a node for a Service are missing or do not match the Service's
// endpoints, so traffic to the Service from that node fails (no DNAT at all, or DNAT to pods
// that are gone). The check compares, on every node, each Service port's ready endpoints in the
// API with kube-proxy's data plane: the nat KUBE-SERVICES chain with its KUBE-SVC/KUBE-SVL and
// KUBE-SEP chains in iptables mode, the service-ips map with its service and endpoint chains of
// table ip kube-proxy in nftables mode. The repair restarts kube-proxy on the node (its first
// sync rewrites every Service) by evicting its pod, and waits for the rules to match again.
//
// The zero value uses the defaults.
type KubeProxyRulesMissing struct {
	// Settle is how long the check waits before it reads a node again (with the API) whose rules
	// differ for a Service that changed in the last kubeProxyLag: kube-proxy follows the API a
	// moment behind, so only a mismatch still there is reported (default 2s: kube-proxy syncs at
	// most a second after a change, on a quiet node; negative: no second read). A mismatch for
	// Services unchanged for longer is reported at once. The change times are the API server's
	// (to the second), compared with this machine's clock.
	Settle time.Duration
	// RestartTimeout bounds the repair's wait for the new kube-proxy pod and its rules (default 2m).
	RestartTimeout time.Duration
	// PollInterval is how often that wait polls (default kube.DefaultPollInterval, 500ms).
	PollInterval time.Duration
}

// ID returns "kube-proxy-rules-missing".
func (KubeProxyRulesMissing) ID() string { return "kube-proxy-rules-missing" }

// Run reads the Services and their EndpointSlices, then kube-proxy's data plane on every node:
// per node one Fail per Service port that is missing or does not match, or one Pass; a node
// without kube-proxy's data plane (kube-proxy replaced by the CNI, or ipvs mode) is
// NotApplicable. Failing nodes whose Services changed in the last kubeProxyLag are read again
// after Settle, with the API, and only what still fails is reported.
func (p KubeProxyRulesMissing) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	exp, err := readKubeProxyExpectations(ctx, c.Client)
	if err != nil {
		return nil, err
	}
	inspect := func(ctx context.Context, n node.Node) ([]Finding, error) { return p.inspect(ctx, exp, n) }
	byNode, err := eachNode(ctx, c.Nodes, inspect)
	if err != nil {
		return nil, err
	}
	var again []int // the nodes whose rules differ for a recent change, read again once kube-proxy had time to sync
	var againNodes []node.Node
	for i, fs := range byNode {
		if p.settle() > 0 && changedRecently(exp, Failed(fs)) {
			again, againNodes = append(again, i), append(againNodes, c.Nodes[i])
		}
	}
	if len(again) > 0 {
		c.log().Debug("kube-proxy rules differ from an API that changed recently; reading again", "check", p.ID(), "nodes", len(again), "after", p.settle())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(p.settle()):
		}
		if exp, err = readKubeProxyExpectations(ctx, c.Client); err != nil {
			return nil, err
		}
		reread, err := eachNode(ctx, againNodes, inspect)
		if err != nil {
			return nil, err
		}
		for k, i := range again {
			byNode[i] = reread[k]
		}
	}
	var out []Finding
	for _, fs := range byNode {
		out = append(out, fs...)
	}
	return out, nil
}

// inspect compares one node's data planes with what the API expects.
func (p KubeProxyRulesMissing) inspect(ctx context.Context, exp *kpExpectations, n node.Node) ([]Finding, error) {
	rd, err := readKubeProxyPlanes(ctx, n)
	if err != nil {
		return nil, err
	}
	if len(rd.planes) == 0 {
		summary := "kube-proxy's data plane is not on this node: no KUBE-SERVICES chain in iptables and no table ip kube-proxy (is kube-proxy replaced, e.g. by the CNI?)"
		if rd.ipvs {
			summary = "kube-proxy runs in ipvs mode here: its Services are IPVS virtual servers, which this check does not read"
		}
		return []Finding{{Check: p.ID(), Node: n.Name(), Status: NotApplicable, Summary: summary, Evidence: rd.absent}}, nil
	}
	zone := exp.zones[n.Name()]
	var fails []Finding
	checked := 0
	for _, sp := range exp.ports {
		want := sp.expected(n.Name(), zone)
		if len(want) == 0 {
			continue // kube-proxy programs no DNAT for a port without ready endpoints (for this node)
		}
		checked++
		for _, pl := range rd.planes {
			if problem := kpCompare(pl, sp, want, len(rd.planes) > 1); problem != nil {
				problem.Node = n.Name()
				problem.Evidence = append(problem.Evidence, Evidence{Source: kpAPISource, Output: sp.describe(n.Name(), want)})
				fails = append(fails, *problem)
			}
		}
	}
	if len(fails) > 0 {
		for i := range fails {
			fails[i].Check = p.ID()
		}
		return fails, nil
	}
	var modes []string
	var ev []Evidence
	for _, pl := range rd.planes {
		if !hasString(modes, pl.Mode) {
			modes = append(modes, pl.Mode)
		}
		ev = append(ev, Evidence{Source: pl.Source, Output: fmt.Sprintf("%d Service ports reach exactly their ready endpoints", checked)})
	}
	mode := strings.Join(modes, " and ") + " mode"
	if len(modes) > 1 {
		mode += "s"
	}
	return []Finding{{Check: p.ID(), Node: n.Name(), Status: Pass, Evidence: ev,
		Summary: fmt.Sprintf("%d Service ports programmed (%s)", checked, mode)}}, nil
}

// kpCompare returns a Fail finding when the data plane does not send the port to exactly want;
// nil when it does. named prefixes the summary with the view (a node with two data planes).
func kpCompare(pl kpDataPlane, sp kpServicePort, want []string, named bool) *Finding {
	prog := pl.lookup(sp)
	var summary string
	if !prog.Found {
		summary = fmt.Sprintf("no %s for %s", pl.Dispatch, sp)
		if len(prog.Lines) == 0 {
			prog.Lines = []string{fmt.Sprintf("(no %s for %s)", pl.Dispatch, sp.IP)}
		}
	} else {
		got := map[string]bool{}
		for _, e := range prog.Endpoints {
			got[e] = true
		}
		wanted := map[string]bool{}
		var missing, stale []string
		for _, w := range want {
			wanted[w] = true
			if !got[w] {
				missing = append(missing, w)
			}
		}
		for e := range got {
			if !wanted[e] {
				stale = append(stale, e)
			}
		}
		if len(missing) == 0 && len(stale) == 0 {
			return nil
		}
		sort.Strings(stale)
		summary = fmt.Sprintf("%s has %d of %d endpoints", prog.Chain, len(want)-len(missing), len(want))
		if len(missing) > 0 {
			summary += ": missing " + strings.Join(missing, ", ")
		}
		if len(stale) > 0 {
			summary += "; stale " + strings.Join(stale, ", ") + " (not a ready endpoint)"
		}
	}
	if named {
		summary = pl.View + ": " + summary
	}
	return &Finding{Status: Fail, Object: sp.object(), Services: []string{sp.Service}, Summary: summary,
		Evidence: []Evidence{{Source: pl.Source, Output: strings.Join(prog.Lines, "\n")}}}
}

// kubeProxyLag is how long after a change of the API kube-proxy may still be catching up on a
// busy node: its syncs wait at least a second after a change, and one sync of a large ruleset on a
// loaded node takes seconds more.
const kubeProxyLag = 10 * time.Second

// changedRecently reports whether a Service of failed changed in the last kubeProxyLag.
func changedRecently(exp *kpExpectations, failed []Finding) bool {
	var changed time.Time
	for _, f := range failed {
		for _, sp := range exp.ports {
			if slices.Contains(f.Services, sp.Service) {
				changed = latest(changed, sp.Changed)
			}
		}
	}
	return len(failed) > 0 && time.Since(changed) < kubeProxyLag
}

func (p KubeProxyRulesMissing) settle() time.Duration {
	if p.Settle == 0 {
		return 2 * time.Second
	}
	return p.Settle
}

func (p KubeProxyRulesMissing) restartTimeout() time.Duration {
	if p.RestartTimeout <= 0 {
		return 2 * time.Minute
	}
	return p.RestartTimeout
}

func (p KubeProxyRulesMissing) pollInterval() time.Duration {
	if p.PollInterval <= 0 {
		return kube.DefaultPollInterval
	}
	return p.PollInterval
}
