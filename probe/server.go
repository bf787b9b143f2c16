package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownGrace bounds how long Serve waits for HTTP requests in flight.
const shutdownGrace = 5 * time.Second

// ServerConfig says where a Server listens. An empty address disables that
// listener; at least one must be set. Port 0 picks a free port.
type ServerConfig struct {
	// HTTPAddr is the HTTP listen address, such as ":8080".
	HTTPAddr string
	// TCPAddr is the TCP echo listen address, such as ":8081".
	TCPAddr string
	// UDPAddr is the UDP echo listen address, such as ":8082".
	UDPAddr string
	// Identity is reported by GET /.
	Identity Identity
}

// Server is the listening side of the probes: an HTTP server, a TCP echo
// server and a UDP echo server. Create it with Listen and run it with Serve.
type Server struct {
	httpLn  net.Listener
	tcpLn   net.Listener
	udpConn net.PacketConn
	http    *http.Server
	tcp     *tcpEcho
}

// Listen binds every listener named in cfg. On error nothing stays bound.
func Listen(cfg ServerConfig) (*Server, error) {
	if cfg.HTTPAddr == "" && cfg.TCPAddr == "" && cfg.UDPAddr == "" {
		return nil, errors.New("listen: no address configured")
	}
	s := &Server{}
	var err error
	if cfg.HTTPAddr != "" {
		if s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, s.abort(fmt.Errorf("listen http: %w", err))
		}
		s.http = &http.Server{
			Handler:           NewHTTPHandler(cfg.Identity),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       30 * time.Second,
		}
	}
	if cfg.TCPAddr != "" {
		if s.tcpLn, err = net.Listen("tcp", cfg.TCPAddr); err != nil {
			return nil, s.abort(fmt.Errorf("listen tcp: %w", err))
		}
		s.tcp = newTCPEcho(s.tcpLn)
	}
	if cfg.UDPAddr != "" {
		if s.udpConn, err = net.ListenPacket("udp", cfg.UDPAddr); err != nil {
			return nil, s.abort(fmt.Errorf("listen udp: %w", err))
		}
	}
	return s, nil
}

// HTTPAddr returns the bound HTTP address, or nil when disabled.
func (s *Server) HTTPAddr() net.Addr { return addrOf(s.httpLn) }

// TCPAddr returns the bound TCP echo address, or nil when disabled.
func (s *Server) TCPAddr() net.Addr { return addrOf(s.tcpLn) }

// UDPAddr returns the bound UDP echo address, or nil when disabled.
func (s *Server) UDPAddr() net.Addr {
	if s.udpConn == nil {
		return nil
	}
	return s.udpConn.LocalAddr()
}

// Serve runs the servers until ctx ends, then closes the listeners, lets
// HTTP requests in flight finish and closes open echo connections. It
// returns nil after a clean shutdown, or the first error that stopped a
// server early (which also stops the others). A Server serves only once.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	run := func(name string, fn func() error) {
		wg.Go(func() {
			if err := fn(); err != nil {
				errs <- fmt.Errorf("%s server: %w", name, err)
				cancel()
			}
		})
	}
	if s.http != nil {
		run("http", func() error {
			if err := s.http.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	if s.tcp != nil {
		run("tcp echo", s.tcp.serve)
	}
	if s.udpConn != nil {
		run("udp echo", func() error { return serveUDPEcho(s.udpConn) })
	}

	<-ctx.Done()
	shutdownErr := s.shutdown()
	wg.Wait()
	close(errs)
	if err, ok := <-errs; ok {
		return err
	}
	return shutdownErr
}

// shutdown stops every server; the serve loops then return nil.
func (s *Server) shutdown() error {
	var errs []error
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http server: %w", err))
			_ = s.http.Close()
		}
	}
	if s.tcp != nil {
		s.tcp.close()
	}
	if s.udpConn != nil {
		_ = s.udpConn.Close()
	}
	return errors.Join(errs...)
}

// abort closes whatever Listen bound so far and returns err.
func (s *Server) abort(err error) error {
	if s.httpLn != nil {
		_ = s.httpLn.Close()
	}
	if s.tcpLn != nil {
		_ = s.tcpLn.Close()
	}
	if s.udpConn != nil {
		_ = s.udpConn.Close()
	}
	return err
}

// addrOf returns ln's address, or nil for a nil listener.
func addrOf(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}
