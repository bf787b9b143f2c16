package probe_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/probe"
)

func TestHTTPIdentity(t *testing.T) {
	srv := startServer(t)
	url := "http://" + srv.HTTPAddr().String() + "/"

	res := probe.HTTP(shortCtx(t, 3*time.Second), url)
	require.True(t, res.OK, res.Error)
	assert.Equal(t, probe.KindHTTP, res.Kind)
	assert.Equal(t, url, res.Target)
	assert.Empty(t, res.Error)
	assert.Positive(t, res.LatencyMS)
	var id probe.Identity
	require.NoError(t, json.Unmarshal([]byte(res.Detail), &id))
	assert.Equal(t, testIdentity, id)
}

func TestHTTPHealthz(t *testing.T) {
	srv := startServer(t)
	res := probe.HTTP(shortCtx(t, 3*time.Second), "http://"+srv.HTTPAddr().String()+"/healthz")
	assert.True(t, res.OK, res.Error)
	assert.Equal(t, "ok", res.Detail)
}

func TestHTTPNon2xxFails(t *testing.T) {
	srv := startServer(t)
	res := probe.HTTP(shortCtx(t, 3*time.Second), "http://"+srv.HTTPAddr().String()+"/missing")
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "404")
}

func TestHTTPNothingListening(t *testing.T) {
	res := probe.HTTP(shortCtx(t, 3*time.Second), "http://"+closedTCPAddr(t)+"/")
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "connection refused")
}

func TestHTTPHandlerMethods(t *testing.T) {
	srv := startServer(t)
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr().String()+"/", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestTCPEcho(t *testing.T) {
	srv := startServer(t)
	addr := srv.TCPAddr().String()
	res := probe.TCP(shortCtx(t, 3*time.Second), addr)
	require.True(t, res.OK, res.Error)
	assert.Equal(t, probe.KindTCP, res.Kind)
	assert.Equal(t, addr, res.Target)
	assert.True(t, strings.HasPrefix(res.Detail, "netcert-"), res.Detail)

	// Each call sends a fresh nonce.
	again := probe.TCP(shortCtx(t, 3*time.Second), addr)
	require.True(t, again.OK, again.Error)
	assert.NotEqual(t, res.Detail, again.Detail)
}

func TestTCPClosedPort(t *testing.T) {
	res := probe.TCP(shortCtx(t, 3*time.Second), closedTCPAddr(t))
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "connection refused")
}

func TestTCPNoEchoTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	res := probe.TCP(shortCtx(t, 300*time.Millisecond), ln.Addr().String())
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "deadline exceeded", "it gave up at the context's deadline, not for another reason")
}

func TestTCPWrongEchoFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		_, _ = conn.Write([]byte(strings.Repeat("x", n)))
	}()
	res := probe.TCP(shortCtx(t, 3*time.Second), ln.Addr().String())
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "echo mismatch")
}

func TestUDPEcho(t *testing.T) {
	srv := startServer(t)
	addr := srv.UDPAddr().String()
	res := probe.UDP(shortCtx(t, 3*time.Second), addr)
	require.True(t, res.OK, res.Error)
	assert.Equal(t, probe.KindUDP, res.Kind)
	assert.Equal(t, addr, res.Target)
	assert.True(t, strings.HasPrefix(res.Detail, "netcert-"), res.Detail)
}

func TestUDPClosedPort(t *testing.T) {
	res := probe.UDP(shortCtx(t, time.Second), closedUDPAddr(t))
	assert.False(t, res.OK)
	assert.NotEmpty(t, res.Error)
}

func TestUDPNoEchoTimesOut(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	res := probe.UDP(shortCtx(t, 300*time.Millisecond), pc.LocalAddr().String())
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "deadline exceeded")
}

// lossyEcho echoes UDP datagrams on loopback but drops the first lose of them; it counts every one.
func lossyEcho(t *testing.T, lose int) (string, *atomic.Int32) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	var got atomic.Int32
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if got.Add(1) > int32(lose) {
				_, _ = pc.WriteTo(buf[:n], from)
			}
		}
	}()
	return pc.LocalAddr().String(), &got
}

// A lost datagram fails UDP, but not UDPResend, which sends it again within the same deadline.
func TestUDPResendSurvivesALostDatagram(t *testing.T) {
	addr, _ := lossyEcho(t, 1)
	assert.False(t, probe.UDP(shortCtx(t, 300*time.Millisecond), addr).OK, "one datagram, lost")
	addr, got := lossyEcho(t, 1)
	res := probe.UDPResend(shortCtx(t, 5*time.Second), addr, 20*time.Millisecond)
	require.True(t, res.OK, res.Error)
	assert.GreaterOrEqual(t, got.Load(), int32(2))
}

// Unanswered, UDPResend keeps sending until its deadline, and fails.
func TestUDPResendSendsUntilTheDeadline(t *testing.T) {
	addr, got := lossyEcho(t, 1<<30)
	res := probe.UDPResend(shortCtx(t, 300*time.Millisecond), addr, 50*time.Millisecond)
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "deadline exceeded")
	assert.Eventually(t, func() bool { return got.Load() >= 3 }, 5*time.Second, 10*time.Millisecond, "datagrams sent: %d", got.Load())
}

// A datagram as large as loopback's route allows, with DF, comes back whole.
func TestUDPFullMTUEcho(t *testing.T) {
	srv := startServer(t)
	res := probe.UDPFullMTU(shortCtx(t, 3*time.Second), srv.UDPAddr().String())
	require.True(t, res.OK, res.Error)
	assert.Contains(t, res.Detail, "65535-byte datagram, DF")
}

// Unanswered, the full-MTU probe says how large its datagram was and what the kernel learned.
func TestUDPFullMTUNoEchoSaysWhatWasSent(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	res := probe.UDPFullMTU(shortCtx(t, 300*time.Millisecond), pc.LocalAddr().String())
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "a 65535-byte datagram with DF, no fragmentation-needed came back")
}

func TestServerClosesEchoConnectionsOnShutdown(t *testing.T) {
	srv, err := probe.Listen(probe.ServerConfig{TCPAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	assert.Nil(t, srv.HTTPAddr())
	assert.Nil(t, srv.UDPAddr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	conn, err := net.Dial("tcp", srv.TCPAddr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("hi"))
	require.NoError(t, err)
	buf := make([]byte, 2)
	_, err = conn.Read(buf)
	require.NoError(t, err)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
	_, err = conn.Read(buf)
	assert.Error(t, err, "connection closed by shutdown")
}

func TestListenNeedsAnAddress(t *testing.T) {
	_, err := probe.Listen(probe.ServerConfig{})
	assert.Error(t, err)
}

func TestListenReleasesPortsOnError(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = busy.Close() })
	_, err = probe.Listen(probe.ServerConfig{TCPAddr: "127.0.0.1:0", UDPAddr: busy.LocalAddr().String()})
	assert.ErrorContains(t, err, "listen udp")
}
