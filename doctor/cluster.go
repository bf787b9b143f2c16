package doctor

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"

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
	// PodPairs sends UDP from the probe pod on each pair's From node to the one on its To node,
	// every pair at once; the results are in the pairs' order.
	PodPairs(ctx context.Context, pairs []NodePair) ([]PairResult, error)
	// DNS sends one query for name to server (IP:port) from inside the cluster network; ok when
	// it is answered from at least one node.
	DNS(ctx context.Context, server, name string) (ok bool, ev Evidence, err error)
}

// NodePair is a pod-to-pod probe: from the probe pod on node From to the one on node To.
type NodePair struct{ From, To string }

// PairResult is what one pod-to-pod probe showed.
type PairResult struct {
	OK       bool
	Evidence Evidence
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

// perNode runs inspect on every node: the findings of a check with one finding per node, in the
// nodes' order.
func perNode(ctx context.Context, c *Cluster, inspect func(context.Context, node.Node) (Finding, error)) ([]Finding, error) {
	return eachNode(ctx, c.Nodes, inspect)
}

// eachNode runs read on every node of nodes, nodeConcurrency at a time, and returns the results in
// their order; on errors, the results before the first failing node and its error.
func eachNode[T any](ctx context.Context, nodes []node.Node, read func(context.Context, node.Node) (T, error)) ([]T, error) {
	out := make([]T, len(nodes))
	errs := make([]error, len(nodes))
	concurrently(len(nodes), nodeConcurrency, func(i int) { out[i], errs[i] = read(ctx, nodes[i]) })
	for i, err := range errs {
		if err != nil {
			return out[:i], err
		}
	}
	return out, nil
}

// nodeConcurrency bounds how many nodes one check reads at once; checkConcurrency how many
// checks a sweep runs at once. Node commands mostly wait (on docker exec, on pod exec through the
// API server, and a node's first ones on its shell sessions starting): the bounds keep a large
// cluster from opening thousands of them together.
const (
	nodeConcurrency  = 128
	checkConcurrency = 6
)

// concurrently calls fn(0) … fn(n-1), at most limit at a time, and returns when all returned.
func concurrently(n, limit int, fn func(i int)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(limit, 1))
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// orUnknown is s, or "unknown" when empty (a CNI netcert could not tell).
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
