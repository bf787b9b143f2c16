package doctor

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/traffic"
)

// Cluster is what checks and repairs look at: the nodes, the API, which CNI runs, and a way to
// send live traffic.
type Cluster struct {
	Nodes  []node.Node
	Client kubernetes.Interface
	// Dynamic reads the CNI's own resources (Calico's IPPools and FelixConfiguration); checks that
	// need it fail to evaluate on Calico without it.
	Dynamic dynamic.Interface
	CNI     string // "flannel" or "calico"
	Probe   Prober // live traffic; checks that need it fail to evaluate without it
	// Traffic sends the traffic matrix (traffic-path-broken); the check cannot evaluate without it.
	Traffic TrafficSender
	Log     *slog.Logger // optional
}

// TrafficSender sends the cases of the traffic matrix (netcert's probe pods).
type TrafficSender interface {
	traffic.Sender
	// External reports whether it can send from outside the cluster (external-to-nodeport).
	External() bool
	// ExternalAddr is the address it sends from outside the cluster ("" when unknown).
	ExternalAddr() string
}

// Prober sends real traffic from inside the cluster network (netcert's probe pods). Checks may
// call it from several goroutines at once.
type Prober interface {
	// PodToPod sends UDP from a probe pod on node from to a probe pod on node to.
	PodToPod(ctx context.Context, from, to string) (ok bool, ev Evidence, err error)
	// DNS sends one query for name to server (IP:port) from inside the cluster network; ok when
	// it is answered from at least one node.
	DNS(ctx context.Context, server, name string) (ok bool, ev Evidence, err error)
}

func (c *Cluster) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c.Log
}

// run runs argv on n and returns its trimmed output with the evidence of the call (on failure, the
// evidence's output is the error, which carries what the command printed on standard error).
func run(ctx context.Context, n node.Node, argv ...string) (string, Evidence, error) {
	out, err := node.Run(ctx, n, argv...)
	ev := Evidence{Source: node.CommandLine(n, argv), Output: out}
	if err != nil {
		ev.Output = strings.TrimSpace(out + "\n" + err.Error())
	}
	return out, ev, err
}

// perNode runs inspect on every node in turn: the findings of a check with one finding per node.
func perNode(ctx context.Context, c *Cluster, inspect func(context.Context, node.Node) (Finding, error)) ([]Finding, error) {
	var findings []Finding
	for _, n := range c.Nodes {
		f, err := inspect(ctx, n)
		if err != nil {
			return findings, err
		}
		findings = append(findings, f)
	}
	return findings, nil
}

// orUnknown is s, or "unknown" when empty (a CNI netcert could not tell).
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
