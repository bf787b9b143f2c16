package node

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangingNode blocks every command until its context ends.
type hangingNode struct{}

func (hangingNode) Name() string { return "w1" }
func (hangingNode) Exec(ctx context.Context, _ ...string) ([]byte, []byte, error) {
	<-ctx.Done()
	return nil, nil, ctx.Err()
}

func TestWithDeadlineEndsAHungCommand(t *testing.T) {
	n := WithDeadline(hangingNode{}, 50*time.Millisecond)
	_, err := Run(context.Background(), n, "iptables-nft-save", "-c")
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrHung)
	assert.Contains(t, err.Error(), "`iptables-nft-save -c` did not finish in time: still running after 50ms (hung? raise --node-timeout)")
	assert.Equal(t, "w1", n.Name())
}

func TestWithDeadlineLeavesOtherErrorsAlone(t *testing.T) {
	n := WithDeadline(NewFake("w1").Handle("false", func([]string) (string, int) { return "", 1 }), time.Minute)
	_, err := Run(context.Background(), n, "false")
	code, ran := ExitCode(err)
	assert.True(t, ran)
	assert.Equal(t, 1, code)
	assert.NotErrorIs(t, err, ErrHung)
	assert.Equal(t, Node(hangingNode{}), WithDeadline(hangingNode{}, 0), "no bound: the node itself")
}
