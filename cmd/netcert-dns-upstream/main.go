package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/miekg/dns"

	"github.com/netcert/netcert/dnsupstream"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// defaultZone is the zone served when --zone is not given.
const defaultZone = "netcert.test."

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// config is the parsed command line.
type config struct {
	listen  string
	zone    string
	records recordList
	silent  bool
	verbose bool
}

// parseFlags parses args into a config. Without --record the zone serves
// probe.<zone>=127.0.0.1.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("netcert-dns-upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", ":53", "UDP and TCP listen address")
	fs.StringVar(&cfg.zone, "zone", defaultZone, "zone to answer for")
	fs.Var(&cfg.records, "record", "A record NAME=IPv4, repeatable (default probe.<zone>=127.0.0.1)")
	fs.BoolVar(&cfg.silent, "silent", false, "accept queries and never answer")
	fs.BoolVar(&cfg.verbose, "verbose", false, "log one line per query to stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() != 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(cfg.records) == 0 {
		r, err := dnsupstream.ParseRecord(defaultRecordName(cfg.zone) + "=127.0.0.1")
		if err != nil {
			return cfg, fmt.Errorf("default record: %w", err)
		}
		cfg.records = recordList{r}
	}
	return cfg, nil
}

// defaultRecordName returns probe.<zone>, the name served without --record.
func defaultRecordName(zone string) string {
	zone = dns.CanonicalName(zone)
	if zone == "." {
		return "probe."
	}
	return "probe." + zone
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "netcert-dns-upstream: %v\n", err)
		return exitUsage
	}
	logger := log.New(stderr, "netcert-dns-upstream: ", log.LstdFlags|log.Lmicroseconds)
	opts := []dnsupstream.Option{dnsupstream.WithSilent(cfg.silent)}
	if cfg.verbose {
		opts = append(opts, dnsupstream.WithLogf(logger.Printf))
	}
	h, err := dnsupstream.New(cfg.zone, cfg.records, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "netcert-dns-upstream: %v\n", err)
		return exitUsage
	}
	srv, err := dnsupstream.Listen(cfg.listen, h)
	if err != nil {
		logger.Print(err)
		return exitFail
	}
	logger.Printf("serving zone %s on %s (udp, tcp), records %s, silent=%t",
		h.Zone(), srv.Addr(), cfg.records, cfg.silent)
	if err := srv.Serve(ctx); err != nil {
		logger.Print(err)
		return exitFail
	}
	logger.Print("shut down")
	return exitOK
}

// recordList is the repeatable --record flag.
type recordList []dnsupstream.Record

// String returns the records as a comma-separated list.
func (l *recordList) String() string {
	parts := make([]string, len(*l))
	for i, r := range *l {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Set parses and appends one NAME=IPv4 record.
func (l *recordList) Set(s string) error {
	r, err := dnsupstream.ParseRecord(s)
	if err != nil {
		return err
	}
	*l = append(*l, r)
	return nil
}
