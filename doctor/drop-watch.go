package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// dropIdleWindow is how long the counters are watched with no probe, to tell the drops the
// probes cause from the node's other traffic.
var dropIdleWindow = time.Second

// dropCount is what the kernel counted of one rule that discards packets (a DROP or REJECT, or a
// chain's DROP policy): over an idle window, and over a round of probes.
type dropCount struct {
	rule         *netfilter.Rule // as read after the probes
	idle, probed uint64
	// background is what the rule would have counted over the probes' window at its idle rate:
	// a rule that drops other traffic (a CoreDNS health check to an upstream it cuts off) keeps
	// counting while the probes run.
	background float64
}

// rose reports whether the rule counted at least need packets more while probed than its idle
// rate accounts for.
func (d dropCount) rose(need uint64) bool { return float64(d.probed) >= d.background+float64(need) }

// watchDrops reads the netfilter views of nodes, waits dropIdleWindow with no probe, reads them
// again, sends the probes (again), and reads them a third time. It returns, per node and rule ref,
// the counts of every counted rule that discards packets: where the kernel really drops what the
// probes send, whatever the rule's shape. A node whose views cannot be read is left out, with
// why in unread; err is for the probes, or when no node can be read.
func watchDrops(ctx context.Context, nodes []node.Node, again func(context.Context) error) (counts map[string]map[string]dropCount, unread map[string]error, err error) {
	unread = map[string]error{}
	read := func() (map[string]map[string]*netfilter.Rule, error) {
		out := map[string]map[string]*netfilter.Rule{}
		type read struct {
			rules map[string]*netfilter.Rule
			err   error
		}
		reads, _ := eachNode(ctx, nodes, func(ctx context.Context, n node.Node) (read, error) {
			if unread[n.Name()] != nil {
				return read{}, nil
			}
			v, err := readNodeViews(ctx, n)
			if err != nil {
				return read{err: err}, nil
			}
			return read{rules: rulesByRef(v)}, nil
		})
		for i, r := range reads {
			switch name := nodes[i].Name(); {
			case r.err != nil:
				unread[name] = r.err
			case r.rules != nil:
				out[name] = r.rules
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no node's netfilter views can be read: %v", unread)
		}
		return out, nil
	}
	idleStart, err := read()
	if err != nil {
		return nil, unread, err
	}
	start := time.Now()
	select {
	case <-ctx.Done():
		return nil, unread, ctx.Err()
	case <-time.After(dropIdleWindow):
	}
	before, err := read()
	if err != nil {
		return nil, unread, err
	}
	probing := time.Now()
	idleFor := probing.Sub(start)
	if err := again(ctx); err != nil {
		return nil, unread, err
	}
	after, err := read()
	if err != nil {
		return nil, unread, err
	}
	scale := 1.0 // never less background while probing than while idle
	if idleFor > 0 {
		scale = max(scale, float64(time.Since(probing))/float64(idleFor))
	}
	out := map[string]map[string]dropCount{}
	for name, rules := range after {
		if unread[name] != nil {
			continue
		}
		out[name] = map[string]dropCount{}
		for ref, r := range rules {
			i, b := idleStart[name][ref], before[name][ref]
			if !r.Drops() || !r.Counted || i == nil || b == nil {
				continue
			}
			d := dropCount{rule: r, idle: delta(i.Packets, b.Packets), probed: delta(b.Packets, r.Packets)}
			d.background = float64(d.idle) * scale
			out[name][ref] = d
		}
	}
	return out, unread, nil
}

// delta is how much a counter rose (0 when it was reset in between).
func delta(before, after uint64) uint64 {
	if after < before {
		return 0
	}
	return after - before
}

// ruleLabel names a rule exactly: its view, table, chain, position or handle, and text.
func ruleLabel(r *netfilter.Rule) string {
	return fmt.Sprintf("%s %s %s `%s`", r.Backend, r.Where(), rulePosition(r), r.Text)
}
