package probe_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/probe"
)

// testIdentity is the identity the test servers report.
var testIdentity = probe.Identity{Pod: "pod-a", Node: "node-1", IP: "10.244.1.7"}

// startServer runs a probe server on loopback ports for the test's lifetime
// and checks that it shuts down cleanly.
func startServer(t *testing.T) *probe.Server {
	t.Helper()
	srv, err := probe.Listen(probe.ServerConfig{
		HTTPAddr: "127.0.0.1:0",
		TCPAddr:  "127.0.0.1:0",
		UDPAddr:  "127.0.0.1:0",
		Identity: testIdentity,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return srv
}

// closedTCPAddr returns a loopback TCP address with nothing listening.
func closedTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// closedUDPAddr returns a loopback UDP address with nothing listening.
func closedUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := pc.LocalAddr().String()
	require.NoError(t, pc.Close())
	return addr
}

// shortCtx returns a context that ends after d, cancelled with the test.
func shortCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
