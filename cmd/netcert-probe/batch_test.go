package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/probe"
)

func batchArg(t *testing.T, lines ...[]string) string {
	t.Helper()
	b, err := json.Marshal(lines)
	require.NoError(t, err)
	return string(b)
}

func TestBatchPrintsEveryResultInOrder(t *testing.T) {
	srv := startProbeServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())

	code, stdout, stderr := runCmd(t, "batch", batchArg(t,
		[]string{"tcp", "--timeout", "1s", closed},
		[]string{"udp", srv.UDPAddr().String()},
		[]string{"http", "http://" + srv.HTTPAddr().String() + "/healthz"},
	))
	require.Equal(t, exitOK, code, "a batch whose checks ran exits 0, failed checks included: %s", stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3)
	for i, want := range []struct {
		kind probe.Kind
		ok   bool
	}{{probe.KindTCP, false}, {probe.KindUDP, true}, {probe.KindHTTP, true}} {
		res, err := probe.ParseResult([]byte(lines[i]))
		require.NoError(t, err)
		assert.Equal(t, want.kind, res.Kind, "line %d", i)
		assert.Equal(t, want.ok, res.OK, "line %d: %s", i, res.Error)
	}
}

func TestBatchUsageErrorsPrintNoResult(t *testing.T) {
	for name, args := range map[string][]string{
		"no list":        {"batch"},
		"two lists":      {"batch", "[]", "[]"},
		"not JSON":       {"batch", "udp 127.0.0.1:1"},
		"serve in batch": {"batch", batchArg(t, []string{"serve"})},
		"empty line":     {"batch", batchArg(t, []string{})},
		"one bad line":   {"batch", batchArg(t, []string{"udp", "--timeout", "1s", "127.0.0.1:1"}, []string{"tcp", "no-port"})},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, "usage:")
		})
	}
}
