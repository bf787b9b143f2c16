package doctor

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/netcert/netcert/node"
)

// ConntrackFull is the check for conntrack-full: a node's connection-tracking table at its limit
// drops every packet of a new flow ("nf_conntrack: table full, dropping packet"), so new
// connections through the node fail while existing ones go on. The repair is a manual plan: the
// right limit trades kernel memory for flows, and what opens so many flows needs a person.
type ConntrackFull struct{}

// The table's fill, in per cent, at which the check warns and fails.
const (
	conntrackWarnPercent = 80
	conntrackFailPercent = 95
)

// conntrackRead prints the table's entries and its limit, one per line; nothing when the node has
// no conntrack table.
var conntrackRead = []string{"sh", "-c", `cd /proc/sys/net/netfilter 2>/dev/null && [ -r nf_conntrack_count ] && cat nf_conntrack_count nf_conntrack_max; exit 0`}

// ID returns "conntrack-full".
func (ConntrackFull) ID() string { return "conntrack-full" }

// Run reads the table's fill on every node.
func (p ConntrackFull) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return perNode(ctx, c, p.inspect)
}

func (p ConntrackFull) inspect(ctx context.Context, n node.Node) (Finding, error) {
	f := Finding{Check: p.ID(), Node: n.Name()}
	out, ev, err := run(ctx, n, conntrackRead...)
	if err != nil {
		return f, err
	}
	f.Evidence = []Evidence{ev}
	fields := strings.Fields(out)
	if len(fields) == 0 {
		f.Status, f.Summary = NotApplicable, "no conntrack table on the node (nf_conntrack is not loaded)"
		return f, nil
	}
	count, cerr := strconv.ParseUint(fields[0], 10, 64)
	limit, lerr := strconv.ParseUint(fields[len(fields)-1], 10, 64)
	if len(fields) != 2 || cerr != nil || lerr != nil || limit == 0 {
		return f, fmt.Errorf("%s: conntrack-full: unexpected nf_conntrack_count and nf_conntrack_max: %q", n.Name(), out)
	}
	percent := count * 100 / limit
	f.Summary = fmt.Sprintf("the conntrack table holds %d of %d entries (%d%%)", count, limit, percent)
	switch {
	case percent >= conntrackFailPercent:
		f.Status = Fail
		f.Summary += ": the kernel drops the packets of new flows through the node"
	case percent >= conntrackWarnPercent:
		f.Status = Warn
		f.Summary += fmt.Sprintf(": at %d%% new flows through the node are dropped", conntrackFailPercent)
	default:
		f.Status = Pass
	}
	return f, nil
}

// Plan is manual for each node with a full table.
func (p ConntrackFull) Plan(_ context.Context, _ *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		plan.Manual = append(plan.Manual, fmt.Sprintf("%s: %s. Find what opens so many flows (`conntrack -S`, `conntrack -L`), and raise the limit "+
			"if the node needs it: `sysctl -w net.netfilter.nf_conntrack_max=N` persisted in /etc/sysctl.d (kube-proxy sets it at start from conntrack.maxPerCore × cores)",
			f.Node, f.Summary))
	}
	return plan, nil
}

// Apply refuses: the plan is manual.
func (p ConntrackFull) Apply(_ context.Context, _ *Cluster, plan Plan) (Record, error) {
	return Record{Check: p.ID()}, refuseManual(plan)
}
