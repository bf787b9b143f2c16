package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/netcert/netcert/probe"
)

// attemptPause is the default wait between attempts when --attempts is above 1.
const attemptPause = 500 * time.Millisecond

// runClient runs one client subcommand (http, tcp, udp or dns), prints its
// Result as one JSON line on stdout and reports whether the check succeeded.
// A returned error means nothing was printed.
func runClient(ctx context.Context, kind string, args []string, stdout io.Writer) (bool, error) {
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	timeout := fs.Duration("timeout", probe.DefaultTimeout, "time limit of each attempt")
	attempts := fs.Int("attempts", 1, "number of attempts before giving up")
	pause := fs.Duration("pause", attemptPause, "wait between attempts")
	var server, qtype *string
	fullMTU, resend := new(bool), new(time.Duration)
	if kind == "udp" {
		fullMTU = fs.Bool("full-mtu", false, "send a datagram as large as the route's MTU, with DF (large-packet paths)")
		resend = fs.Duration("resend", 0, "within an attempt, send the datagram again every DURATION until one is echoed (0: once)")
	}
	if kind == "dns" {
		server = fs.String("server", "", "DNS server IP[:PORT] (default: first nameserver in /etc/resolv.conf)")
		qtype = fs.String("type", "A", "query type")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return false, err
	}
	if *timeout <= 0 {
		return false, usageErrorf("%s: --timeout must be positive", kind)
	}
	if *pause < 0 {
		return false, usageErrorf("%s: --pause must not be negative", kind)
	}
	if *resend < 0 || (*resend > 0 && *fullMTU) {
		return false, usageErrorf("%s: --resend must not be negative, nor set with --full-mtu", kind)
	}
	if *attempts < 1 {
		return false, usageErrorf("%s: --attempts must be at least 1", kind)
	}
	if len(pos) != 1 {
		return false, usageErrorf("%s: want exactly one target, got %d arguments", kind, len(pos))
	}
	check, err := newCheck(kind, pos[0], server, qtype, *fullMTU, *resend)
	if err != nil {
		return false, usageErrorf("%s: %v", kind, err)
	}
	res := probe.Repeat(ctx, *attempts, *timeout, *pause, check)
	line, err := res.Marshal()
	if err != nil {
		return false, err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return false, fmt.Errorf("write result: %w", err)
	}
	return res.OK, nil
}

// newCheck validates target and returns the check for kind.
func newCheck(kind, target string, server, qtype *string, fullMTU bool, resend time.Duration) (probe.Check, error) {
	switch kind {
	case "http":
		if err := probe.ValidateURL(target); err != nil {
			return nil, err
		}
		return func(ctx context.Context) probe.Result { return probe.HTTP(ctx, target) }, nil
	case "tcp", "udp":
		if err := probe.ValidateHostPort(target); err != nil {
			return nil, err
		}
		if kind == "tcp" {
			return func(ctx context.Context) probe.Result { return probe.TCP(ctx, target) }, nil
		}
		if fullMTU {
			return func(ctx context.Context) probe.Result { return probe.UDPFullMTU(ctx, target) }, nil
		}
		return func(ctx context.Context) probe.Result { return probe.UDPResend(ctx, target, resend) }, nil
	case "dns":
		if err := probe.ValidateName(target); err != nil {
			return nil, err
		}
		if _, err := probe.ParseQType(*qtype); err != nil {
			return nil, err
		}
		if *server != "" {
			if _, err := probe.NormalizeServer(*server); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context) probe.Result {
			return probe.DNS(ctx, *server, target, *qtype)
		}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}
