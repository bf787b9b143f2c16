package doctor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// sharedReads are the node commands whose output stands for a node's state through a whole sweep:
// each is run once per node and sweep, and every check that asks gets that one answer (several
// checks read the links, the addresses, the routes and the pods' interfaces). Commands that
// read counters are never shared: the checks that watch counters read them fresh.
var sharedReads = [][]string{iproute.LinkShowArgv, iproute.AddrShowArgv, iproute.RouteShowArgv, {"sh", "-c", podNetnsScript}}

// sharingReads wraps each node so that the sharedReads run on it once.
func sharingReads(nodes []node.Node) []node.Node {
	out := make([]node.Node, len(nodes))
	for i, n := range nodes {
		out[i] = &sharedReadsNode{Node: n, reads: map[string]*sharedRead{}}
	}
	return out
}

// sharedReadsNode is a node whose sharedReads run once.
type sharedReadsNode struct {
	node.Node
	mu    sync.Mutex
	reads map[string]*sharedRead
}

// sharedRead is one shared command's answer; its mutex holds back other readers while it runs.
type sharedRead struct {
	mu             sync.Mutex
	done           bool
	stdout, stderr []byte
	err            error
}

// Unwrap returns the node it wraps (node.Close reaches through it).
func (s *sharedReadsNode) Unwrap() node.Node { return s.Node }

// Exec runs argv, or gives the answer of its earlier run when argv is a shared read that ran (an
// answer of a command that could not run, a node unreached or a deadline, is not kept).
func (s *sharedReadsNode) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	if !slices.ContainsFunc(sharedReads, func(r []string) bool { return slices.Equal(r, argv) }) {
		return s.Node.Exec(ctx, argv...)
	}
	key := strings.Join(argv, "\x00")
	s.mu.Lock()
	r := s.reads[key]
	if r == nil {
		r = &sharedRead{}
		s.reads[key] = r
	}
	s.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		r.stdout, r.stderr, r.err = s.Node.Exec(ctx, argv...)
		var ran *node.ExecError
		r.done = r.err == nil || errors.As(r.err, &ran)
		if !r.done {
			return r.stdout, r.stderr, r.err
		}
	}
	return slices.Clone(r.stdout), slices.Clone(r.stderr), r.err
}
