package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordAndReplay(t *testing.T) {
	n := NewFake("w1").
		Reply("sysctl -n net.ipv4.ip_forward", "1\n").
		Handle("cat /run/flannel/subnet.env", func([]string) (string, int) { return "", 1 })
	r := Record(n)
	ctx := context.Background()
	out, err := Run(ctx, r, "sysctl", "-n", "net.ipv4.ip_forward")
	require.NoError(t, err)
	assert.Equal(t, "1", out)
	_, err = Run(ctx, r, "cat", "/run/flannel/subnet.env")
	require.Error(t, err)
	path, err := r.WriteTo(t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, "w1.json", filepath.Base(path))

	replay, err := LoadReplay(path, "node-007")
	require.NoError(t, err)
	replay.Speed = 1000
	assert.Equal(t, "node-007", replay.Name())
	stdout, _, err := replay.Exec(ctx, "sysctl", "-n", "net.ipv4.ip_forward")
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(stdout), "byte for byte")
	_, _, err = replay.Exec(ctx, "cat", "/run/flannel/subnet.env")
	code, ran := ExitCode(err)
	assert.True(t, ran)
	assert.Equal(t, 1, code, "the recorded exit code")
	_, _, err = replay.Exec(ctx, "ip", "link")
	code, _ = ExitCode(err)
	assert.Equal(t, 127, code, "not recorded: like a missing program")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	replay.Speed = 1e-9 // a recorded millisecond becomes hours: only the context ends it
	start := time.Now()
	_, _, err = replay.Exec(cancelled, "sysctl", "-n", "net.ipv4.ip_forward")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Minute)
}
