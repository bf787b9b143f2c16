package doctor

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

func count(calls []string, cmd string) int {
	n := 0
	for _, c := range calls {
		if c == cmd {
			n++
		}
	}
	return n
}

func TestSharedReadsRunOncePerNodeAndSweep(t *testing.T) {
	f := node.NewFake("n1").Reply("ip -j -d link show", `[{"ifname":"cni0"}]`).Reply("iptables-nft-save -c", "*filter").
		Handle("ip -j addr show", func([]string) (string, int) { return "", 1 })
	n := sharingReads([]node.Node{f})[0]
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			out, err := node.Run(ctx, n, iproute.LinkShowArgv...)
			assert.NoError(t, err)
			assert.Equal(t, `[{"ifname":"cni0"}]`, out)
			_, err = node.Run(ctx, n, "iptables-nft-save", "-c")
			assert.NoError(t, err)
			_, err = node.Run(ctx, n, iproute.AddrShowArgv...)
			assert.Error(t, err, "a command that ran and failed fails each time it is asked")
		})
	}
	wg.Wait()
	calls := f.Calls()
	assert.Equal(t, 1, count(calls, "ip -j -d link show"))
	assert.Equal(t, 1, count(calls, "ip -j addr show"), "a command that ran and failed is an answer too")
	assert.Equal(t, 8, count(calls, "iptables-nft-save -c"), "counters are read fresh")

	// the next sweep reads again
	again := sharingReads([]node.Node{f})[0]
	_, err := node.Run(ctx, again, iproute.LinkShowArgv...)
	require.NoError(t, err)
	assert.Equal(t, 2, count(f.Calls(), "ip -j -d link show"))
	assert.Same(t, node.Node(f), again.(interface{ Unwrap() node.Node }).Unwrap())
}

func TestSharedReadsDoNotKeepAReadThatCouldNotRun(t *testing.T) {
	f := node.NewFake("n1").Reply("ip -j -d link show", "[]")
	n := sharingReads([]node.Node{f})[0]
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := node.Run(cancelled, n, iproute.LinkShowArgv...)
	require.ErrorIs(t, err, context.Canceled)
	out, err := node.Run(context.Background(), n, iproute.LinkShowArgv...)
	require.NoError(t, err, "a deadline of one check is not the answer of the others")
	assert.Equal(t, "[]", strings.TrimSpace(out))
}
