package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// dropIdleWindow is how long the counters are watched with no probe after a round of probes, to
// tell the drops the probes caused from the node's other traffic.
var dropIdleWindow = 500 * time.Millisecond

// dropCount is what the kernel counted of one rule that discards packets (a DROP or REJECT, or a
// chain's DROP policy): over a round of probes, and over an idle window after it.
type dropCount struct {
	rule         *netfilter.Rule // as read after the probes
	idle, probed uint64
	idleRead     bool // idle was read (else idle and background are 0)
	// background is what the rule would have counted over the probes' window at its idle rate:
	// a rule that drops other traffic (a CoreDNS health check to an upstream it cuts off) keeps
	// counting while the probes run.
	background float64
}

// rose reports whether the rule counted at least need packets more while probed than its idle
// rate accounts for.
func (d dropCount) rose(need uint64) bool { return float64(d.probed) >= d.background+float64(need) }

// dropWatch holds the counters of nodes read before a round of probes.
type dropWatch struct {
	start     map[string]map[string]*netfilter.Rule
	unread    map[string]error
	at        time.Time     // when the start was read, then when the probes' counts were
	probedFor time.Duration // from the start to the probes' counts
}

// dropWatchFrom starts a watch from views already read (views[i] of nodes[i]; nil: not read).
func dropWatchFrom(nodes []node.Node, views []*nodeViews) *dropWatch {
	w := &dropWatch{start: map[string]map[string]*netfilter.Rule{}, unread: map[string]error{}, at: time.Now()}
	for i, n := range nodes {
		if i < len(views) && views[i] != nil {
			w.start[n.Name()] = rulesByRef(views[i])
		} else {
			w.unread[n.Name()] = fmt.Errorf("netfilter views not read")
		}
	}
	return w
}

// startDropWatch reads the counters of nodes before a round of probes.
func startDropWatch(ctx context.Context, nodes []node.Node) (*dropWatch, error) {
	w := &dropWatch{unread: map[string]error{}}
	var err error
	w.start, err = w.read(ctx, nodes)
	w.at = time.Now()
	return w, err
}

// read reads the views of the nodes not yet found unreadable, indexed by rule ref.
func (w *dropWatch) read(ctx context.Context, nodes []node.Node) (map[string]map[string]*netfilter.Rule, error) {
	type result struct {
		rules map[string]*netfilter.Rule
		err   error
	}
	reads, _ := eachNode(ctx, nodes, func(ctx context.Context, n node.Node) (result, error) {
		if w.unread[n.Name()] != nil {
			return result{}, nil
		}
		v, err := readNodeViews(ctx, n)
		if err != nil {
			return result{err: err}, nil
		}
		return result{rules: rulesByRef(v)}, nil
	})
	out := map[string]map[string]*netfilter.Rule{}
	for i, r := range reads {
		switch name := nodes[i].Name(); {
		case r.err != nil:
			w.unread[name] = r.err
		case r.rules != nil:
			out[name] = r.rules
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no node's netfilter views can be read: %v", w.unread)
	}
	return out, nil
}

// probed reads the counters of nodes (those of the watch the probes concern) right after the
// probes. It returns, per node and rule ref, the counts of every counted rule that discards
// packets, idle not yet read: where the kernel really drops what the probes sent, whatever the
// rule's shape. A node whose views cannot be read is left out, with why in the watch's unread;
// err is for when no node can be read.
func (w *dropWatch) probed(ctx context.Context, nodes []node.Node) (map[string]map[string]dropCount, error) {
	after, err := w.read(ctx, nodes)
	if err != nil {
		return nil, err
	}
	w.probedFor, w.at = time.Since(w.at), time.Now()
	counts := map[string]map[string]dropCount{}
	for name, rules := range after {
		counts[name] = map[string]dropCount{}
		for ref, r := range rules {
			if s := w.start[name][ref]; s != nil && r.Drops() && r.Counted {
				counts[name][ref] = dropCount{rule: r, probed: delta(s.Packets, r.Packets)}
			}
		}
	}
	return counts, nil
}

// idle waits dropIdleWindow with no probe after probed, reads the nodes again, and fills in each
// count's idle packets and the background they make over the probes' window.
func (w *dropWatch) idle(ctx context.Context, nodes []node.Node, counts map[string]map[string]dropCount) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(dropIdleWindow):
	}
	end, err := w.read(ctx, nodes)
	if err != nil {
		return err
	}
	scale := 1.0 // never less background while probing than while idle
	if idleFor := time.Since(w.at); idleFor > 0 {
		scale = max(scale, float64(w.probedFor)/float64(idleFor))
	}
	for name, rules := range counts {
		for ref, d := range rules {
			if e := end[name][ref]; e != nil && w.unread[name] == nil {
				d.idle = delta(d.rule.Packets, e.Packets)
				d.background, d.idleRead = float64(d.idle)*scale, true
				rules[ref] = d
			} else {
				delete(rules, ref) // gone, or its node unreadable now: no rate to compare with
			}
		}
	}
	return nil
}

// watchDrops reads the netfilter counters of nodes, sends the probes (again), reads them again
// (probed) and over an idle window after (idle); err is also for the probes.
func watchDrops(ctx context.Context, nodes []node.Node, again func(context.Context) error) (map[string]map[string]dropCount, map[string]error, error) {
	w, err := startDropWatch(ctx, nodes)
	if err != nil {
		return nil, w.unread, err
	}
	if err := again(ctx); err != nil {
		return nil, w.unread, err
	}
	counts, err := w.probed(ctx, nodes)
	if err == nil {
		err = w.idle(ctx, nodes, counts)
	}
	if err != nil {
		return nil, w.unread, err
	}
	return counts, w.unread, nil
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
