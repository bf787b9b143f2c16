package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/dnsupstream"
	"github.com/netcert/netcert/probe"
)

// runCmd runs the command line and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// startProbeServer runs probe servers on loopback for the test's lifetime.
func startProbeServer(t *testing.T) *probe.Server {
	t.Helper()
	srv, err := probe.Listen(probe.ServerConfig{HTTPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", UDPAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return srv
}

func TestClientSubcommandsSucceed(t *testing.T) {
	srv := startProbeServer(t)
	rec, err := dnsupstream.ParseRecord("probe.netcert.test=127.0.0.1")
	require.NoError(t, err)
	h, err := dnsupstream.New("netcert.test", []dnsupstream.Record{rec})
	require.NoError(t, err)
	up, err := dnsupstream.Listen("127.0.0.1:0", h)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- up.Serve(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	cases := map[string][]string{
		"http":         {"http", "http://" + srv.HTTPAddr().String() + "/healthz"},
		"tcp":          {"tcp", "--timeout", "2s", srv.TCPAddr().String()},
		"udp":          {"udp", srv.UDPAddr().String(), "--attempts", "2", "--pause", "100ms"},
		"udp full MTU": {"udp", "--full-mtu", srv.UDPAddr().String()},
		"dns":          {"dns", "--server", up.Addr(), "--type", "A", "probe.netcert.test"},
	}
	for kind, args := range cases {
		t.Run(kind, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, args...)
			assert.Equal(t, exitOK, code, stderr)
			assert.Empty(t, stderr)
			assert.Equal(t, 1, bytes.Count([]byte(stdout), []byte("\n")), "exactly one line")
			res, err := probe.ParseResult([]byte(stdout))
			require.NoError(t, err)
			assert.Equal(t, probe.Kind(args[0]), res.Kind)
			assert.True(t, res.OK, res.Error)
		})
	}
}

func TestClientFailureExitsOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	code, stdout, _ := runCmd(t, "tcp", "--timeout", "1s", "--attempts", "2", addr)
	assert.Equal(t, exitFail, code)
	res, err := probe.ParseResult([]byte(stdout))
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, addr, res.Target)
	assert.Contains(t, res.Error, "attempt 2 of 2")
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for name, args := range map[string][]string{
		"no subcommand":    {},
		"unknown":          {"ping", "x"},
		"missing target":   {"tcp"},
		"two targets":      {"udp", "a:1", "b:2"},
		"bad url":          {"http", "10.0.0.1:80"},
		"bad hostport":     {"tcp", "10.0.0.1"},
		"bad timeout":      {"tcp", "--timeout", "0s", "a:1"},
		"bad attempts":     {"udp", "--attempts", "0", "a:1"},
		"negative pause":   {"udp", "--pause", "-1s", "a:1"},
		"unknown flag":     {"tcp", "--nope", "a:1"},
		"bad dns type":     {"dns", "--type", "BOGUS", "a.test"},
		"bad dns name":     {"dns", "a..b"},
		"server flag tcp":  {"tcp", "--server", "1.1.1.1", "a:1"},
		"serve positional": {"serve", "extra"},
		"serve disabled":   {"serve", "--http", "", "--tcp", "", "--udp", ""},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout, "nothing on stdout for usage errors")
			assert.Contains(t, stderr, "usage:")
		})
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runCmd(t, "help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "netcert-probe dns")

	code, _, stderr := runCmd(t, "tcp", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "usage:")
}

func TestServeShutsDownOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--udp", ""}, &stdout, &stderr)
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
		assert.Contains(t, stderr.String(), "serving http=127.0.0.1:")
		assert.Contains(t, stderr.String(), "shut down")
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
}

func TestServeListenErrorExitsOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	code, _, stderr := runCmd(t, "serve", "--http", ln.Addr().String(), "--tcp", "", "--udp", "")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "listen http")
}

func TestParseArgsInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	v := fs.Int("n", 0, "")
	pos, err := parseArgs(fs, []string{"a", "-n", "3", "b", "--", "-n", "c"})
	require.NoError(t, err)
	assert.Equal(t, 3, *v)
	assert.Equal(t, []string{"a", "b", "-n", "c"}, pos)
}
