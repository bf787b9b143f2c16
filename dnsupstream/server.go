package dnsupstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// shutdownGrace bounds how long Serve waits for queries in flight.
const shutdownGrace = 5 * time.Second

// Server runs a dns.Handler on one UDP socket and one TCP listener bound to
// the same address. Create it with Listen and run it with Serve.
type Server struct {
	udp     net.PacketConn
	tcp     net.Listener
	handler dns.Handler
}

// Listen binds addr (such as ":53") on UDP and TCP. With port 0, UDP picks a
// free port and TCP binds the same one.
func Listen(addr string, handler dns.Handler) (*Server, error) {
	if handler == nil {
		return nil, errors.New("listen: nil handler")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	var lastErr error
	for range 10 {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		tcpAddr := addr
		if port == "0" {
			tcpAddr = net.JoinHostPort(host, strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port))
		}
		tcp, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return &Server{udp: udp, tcp: tcp, handler: handler}, nil
		}
		_ = udp.Close()
		lastErr = fmt.Errorf("listen tcp %s: %w", tcpAddr, err)
		if port != "0" {
			break
		}
	}
	return nil, lastErr
}

// Addr returns the bound address, the same port on UDP and TCP.
func (s *Server) Addr() string { return s.udp.LocalAddr().String() }

// Serve answers queries until ctx ends, then shuts down both servers and
// returns nil, or returns the first error that stopped a server early (which
// also stops the other). A Server serves only once.
func (s *Server) Serve(ctx context.Context) error {
	servers := []*dns.Server{
		{PacketConn: s.udp, Handler: s.handler},
		{Listener: s.tcp, Handler: s.handler},
	}
	type exit struct {
		i   int
		err error
	}
	startedCh := make(chan int, len(servers))
	exitCh := make(chan exit, len(servers))
	for i, srv := range servers {
		srv.NotifyStartedFunc = func() { startedCh <- i }
		go func() { exitCh <- exit{i, srv.ActivateAndServe()} }()
	}

	started := make([]bool, len(servers))
	exited := make([]bool, len(servers))
	var firstErr error
	record := func(e exit) {
		exited[e.i] = true
		if e.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("serve dns: %w", e.err)
		}
	}
	// Wait until each server has started or failed, so that Shutdown below
	// never races a server still starting.
	settled := func(i int) bool { return started[i] || exited[i] }
	for !allOf(len(servers), settled) {
		select {
		case i := <-startedCh:
			started[i] = true
		case e := <-exitCh:
			record(e)
		}
	}
	if !slices.Contains(exited, true) {
		select {
		case <-ctx.Done():
		case e := <-exitCh:
			record(e)
		}
	}

	shutdownCtx, stop := context.WithTimeout(context.Background(), shutdownGrace)
	defer stop()
	for i, srv := range servers {
		if started[i] && !exited[i] {
			_ = srv.ShutdownContext(shutdownCtx)
		}
	}
	_ = s.udp.Close()
	_ = s.tcp.Close()
	for !allOf(len(servers), func(i int) bool { return exited[i] || !started[i] }) {
		record(<-exitCh)
	}
	return firstErr
}

// allOf reports whether ok holds for every index below n.
func allOf(n int, ok func(int) bool) bool {
	for i := range n {
		if !ok(i) {
			return false
		}
	}
	return true
}
