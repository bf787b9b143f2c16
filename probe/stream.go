package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// DefaultTimeout bounds a check whose context carries no deadline.
const DefaultTimeout = 3 * time.Second

// maxDatagram is the largest UDP payload the probes read.
const maxDatagram = 64 << 10

// TCP connects to addr (HOST:PORT), sends a random nonce and succeeds when
// the same bytes come back, as from the TCP echo server. Detail holds the
// echoed nonce.
func TCP(ctx context.Context, addr string) Result {
	res := newResult(KindTCP, addr)
	start := time.Now()
	echo, err := tcpExchange(ctx, addr)
	return res.finish(start, echo, err)
}

// UDP sends a random nonce in one datagram to addr (HOST:PORT) and succeeds
// when a datagram with the same bytes comes back before ctx ends. Other
// datagrams are ignored. Detail holds the echoed nonce.
func UDP(ctx context.Context, addr string) Result { return UDPResend(ctx, addr, 0) }

// UDPResend is UDP that sends the datagram again every resend (0: never) until an echo of it comes
// back or ctx ends: one lost datagram does not fail the probe, and an echo of any of them counts,
// however late, until ctx ends.
func UDPResend(ctx context.Context, addr string, resend time.Duration) Result {
	res := newResult(KindUDP, addr)
	start := time.Now()
	echo, err := udpExchange(ctx, addr, false, resend)
	return res.finish(start, echo, err)
}

// UDPFullMTU is UDP with a datagram as large as the sending interface allows (the route's
// MTU), sent with DF: it passes only if every hop of the path, the overlay's encapsulation
// included, carries the MTU the pod was given.
func UDPFullMTU(ctx context.Context, addr string) Result {
	res := newResult(KindUDP, addr)
	start := time.Now()
	echo, err := udpExchange(ctx, addr, true, 0)
	return res.finish(start, echo, err)
}

// tcpExchange performs the exchange behind TCP.
func tcpExchange(ctx context.Context, addr string) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	nonce, err := newNonce()
	if err != nil {
		return "", err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	defer bindDeadline(ctx, conn)()

	if _, err := conn.Write(nonce); err != nil {
		return "", fmt.Errorf("send nonce: %w", withCtxErr(ctx, err))
	}
	got := make([]byte, len(nonce))
	n, err := io.ReadFull(conn, got)
	if err != nil {
		return string(got[:n]), fmt.Errorf("read echo after %d of %d bytes: %w", n, len(nonce), withCtxErr(ctx, err))
	}
	if !bytes.Equal(got, nonce) {
		return string(got), fmt.Errorf("echo mismatch: sent %q, got %q", nonce, got)
	}
	return strings.TrimSpace(string(got)), nil
}

// udpExchange performs the exchange behind UDP and UDPFullMTU.
func udpExchange(ctx context.Context, addr string, fullMTU bool, resend time.Duration) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	nonce, err := newNonce()
	if err != nil {
		return "", err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	defer bindDeadline(ctx, conn)()

	sent := nonce
	if fullMTU {
		if sent, err = fillToMTU(conn.(*net.UDPConn), nonce); err != nil {
			return "", err
		}
	}
	if _, err := conn.Write(sent); err != nil {
		return "", fmt.Errorf("send %d bytes: %w", len(sent), withCtxErr(ctx, err))
	}
	if resend > 0 {
		stop := resendEvery(ctx, conn, sent, resend)
		defer stop()
	}
	buf := make([]byte, maxDatagram)
	others := 0
	for {
		n, err := conn.Read(buf)
		if err != nil {
			err = withCtxErr(ctx, err)
			if fullMTU {
				err = fmt.Errorf("%w%s", err, mtuAccount(conn.(*net.UDPConn), len(sent)))
			}
			if others > 0 {
				return "", fmt.Errorf("read echo (ignored %d unmatched datagrams): %w", others, err)
			}
			return "", fmt.Errorf("read echo: %w", err)
		}
		if bytes.Equal(buf[:n], sent) {
			if fullMTU {
				return fmt.Sprintf("%s (%d-byte datagram, DF)", strings.TrimSpace(string(nonce)), len(sent)+udpHeaders), nil
			}
			return strings.TrimSpace(string(buf[:n])), nil
		}
		others++
	}
}

// resendEvery writes sent on conn every interval until stopped or ctx ends; a failed write stops
// it (the read that follows reports the path's error).
func resendEvery(ctx context.Context, conn net.Conn, sent []byte, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := conn.Write(sent); err != nil {
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// maxUDPPayload is the largest payload of an IPv4 UDP datagram.
const maxUDPPayload = 65507

// udpHeaders are the IPv4 and UDP headers' bytes: a datagram of MTU-udpHeaders fills the MTU.
const udpHeaders = 28

// fillToMTU sets DF on conn and returns nonce padded to fill its route's MTU.
func fillToMTU(conn *net.UDPConn, nonce []byte) ([]byte, error) {
	if err := setDontFragment(conn); err != nil {
		return nil, fmt.Errorf("set DF: %w", err)
	}
	mtu, err := pathMTU(conn)
	if err != nil {
		return nil, fmt.Errorf("read the route's MTU: %w", err)
	}
	size := min(max(mtu-udpHeaders, len(nonce)), maxUDPPayload)
	return append(slices.Clone(nonce), bytes.Repeat([]byte{'.'}, size-len(nonce))...), nil
}

// mtuAccount says what the kernel learned of the path while a full-MTU datagram went unanswered.
func mtuAccount(conn *net.UDPConn, sent int) string {
	mtu, err := pathMTU(conn)
	switch {
	case err != nil:
		return ""
	case mtu < sent+udpHeaders:
		return fmt.Sprintf(" (a %d-byte datagram with DF: a hop sent back fragmentation needed, the path's MTU is %d)", sent+udpHeaders, mtu)
	}
	return fmt.Sprintf(" (a %d-byte datagram with DF, no fragmentation-needed came back: a hop with a smaller MTU drops it silently, or the path is down)", sent+udpHeaders)
}

// newNonce returns a fresh random payload for an echo check.
func newNonce() ([]byte, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return []byte("netcert-" + hex.EncodeToString(b) + "\n"), nil
}

// withDefaultTimeout applies DefaultTimeout when ctx has no deadline.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// bindDeadline makes conn's I/O end at ctx's deadline or cancellation. The
// returned function releases the binding.
func bindDeadline(ctx context.Context, conn net.Conn) func() bool {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
	})
}

// withCtxErr prefixes err with the context's error when ctx has ended, so a
// timeout reads as such rather than as a bare I/O error.
func withCtxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if _, ok := ctx.Deadline(); ok && cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection deadline, copied from ctx, can fire just before
		// ctx itself reports it.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}
