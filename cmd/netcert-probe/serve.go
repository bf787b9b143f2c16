package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/netcert/netcert/probe"
)

// runServe runs the probe servers until ctx ends.
func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := probe.ServerConfig{Identity: probe.IdentityFromEnv()}
	fs.StringVar(&cfg.HTTPAddr, "http", ":8080", "HTTP listen address (empty disables)")
	fs.StringVar(&cfg.TCPAddr, "tcp", ":8081", "TCP echo listen address (empty disables)")
	fs.StringVar(&cfg.UDPAddr, "udp", ":8082", "UDP echo listen address (empty disables)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("serve: unexpected arguments %q", pos)
	}
	if cfg.HTTPAddr == "" && cfg.TCPAddr == "" && cfg.UDPAddr == "" {
		return usageErrorf("serve: --http, --tcp and --udp are all empty")
	}
	srv, err := probe.Listen(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "netcert-probe: serving http=%v tcp=%v udp=%v pod=%q node=%q ip=%q\n",
		srv.HTTPAddr(), srv.TCPAddr(), srv.UDPAddr(), cfg.Identity.Pod, cfg.Identity.Node, cfg.Identity.IP)
	if err := srv.Serve(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "netcert-probe: shut down")
	return nil
}
