package probe

import (
	"errors"
	"net"
	"sync"
	"time"
)

// maxServeErrors is how many accept or read errors in a row stop an echo
// server.
const maxServeErrors = 100

// echoIdle closes an echo connection that stays silent this long.
const echoIdle = 30 * time.Second

// tcpEcho serves TCP connections by writing back every byte read.
type tcpEcho struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
	wg    sync.WaitGroup
}

// newTCPEcho returns an echo server for ln.
func newTCPEcho(ln net.Listener) *tcpEcho {
	return &tcpEcho{ln: ln, conns: make(map[net.Conn]struct{})}
}

// serve accepts connections until close is called, then returns nil once
// every connection handler has finished.
func (e *tcpEcho) serve() error {
	defer e.wg.Wait()
	failures := 0
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			if e.closed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Errors such as running out of file descriptors pass.
			if failures++; failures >= maxServeErrors {
				return err
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		failures = 0
		if !e.track(conn) {
			_ = conn.Close()
			return nil
		}
		e.wg.Go(func() {
			defer e.untrack(conn)
			echoConn(conn)
		})
	}
}

// close stops accepting and closes open connections.
func (e *tcpEcho) close() {
	e.mu.Lock()
	e.done = true
	for c := range e.conns {
		_ = c.Close()
	}
	e.mu.Unlock()
	_ = e.ln.Close()
}

// closed reports whether close was called.
func (e *tcpEcho) closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done
}

// track records conn as open, unless the server is closing.
func (e *tcpEcho) track(conn net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return false
	}
	e.conns[conn] = struct{}{}
	return true
}

// untrack closes conn and forgets it.
func (e *tcpEcho) untrack(conn net.Conn) {
	_ = conn.Close()
	e.mu.Lock()
	delete(e.conns, conn)
	e.mu.Unlock()
}

// echoConn writes back everything read from conn until EOF, an error or
// echoIdle of silence.
func echoConn(conn net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(echoIdle))
		n, err := conn.Read(buf)
		if n > 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(echoIdle))
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// serveUDPEcho sends every datagram read from pc back to its sender until
// pc is closed, then returns nil. Transient read errors are retried.
func serveUDPEcho(pc net.PacketConn) error {
	buf := make([]byte, maxDatagram)
	failures := 0
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if failures++; failures >= maxServeErrors {
				return err
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		failures = 0
		_, _ = pc.WriteTo(buf[:n], from)
	}
}
