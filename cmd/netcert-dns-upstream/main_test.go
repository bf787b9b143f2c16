package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, ":53", cfg.listen)
	assert.Equal(t, "netcert.test.", cfg.zone)
	assert.False(t, cfg.silent)
	assert.Equal(t, "probe.netcert.test.=127.0.0.1", cfg.records.String())

	other, err := parseFlags([]string{"--zone", "example.internal"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "probe.example.internal.=127.0.0.1", other.records.String())
}

func TestParseFlagsRecords(t *testing.T) {
	cfg, err := parseFlags([]string{
		"--record", "a.netcert.test=10.0.0.1", "--record", "b.netcert.test.=10.0.0.2", "--silent", "--verbose",
	}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "a.netcert.test.=10.0.0.1,b.netcert.test.=10.0.0.2", cfg.records.String())
	assert.True(t, cfg.silent)
	assert.True(t, cfg.verbose)
}

func TestRunUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"bad record":     {"--record", "a.netcert.test=fd00::1"},
		"outside zone":   {"--record", "a.example.com=10.0.0.1"},
		"positional arg": {"extra"},
		"unknown flag":   {"--forward", "8.8.8.8"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, exitUsage, run(context.Background(), args, &stderr))
			assert.NotEmpty(t, stderr.String())
		})
	}
}

func TestRunListenError(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	var stderr bytes.Buffer
	assert.Equal(t, exitFail, run(context.Background(), []string{"--listen", pc.LocalAddr().String()}, &stderr))
	assert.Contains(t, stderr.String(), "listen udp")
}

func TestRunShutsDownOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--verbose"}, &stderr) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
		assert.Contains(t, stderr.String(), "serving zone netcert.test.")
		assert.Contains(t, stderr.String(), "shut down")
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
