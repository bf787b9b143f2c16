package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageText is printed for help and usage errors.
const usageText = `usage:
  netcert-probe serve [--http :8080] [--tcp :8081] [--udp :8082]
  netcert-probe http [--timeout 3s] [--attempts 1] URL
  netcert-probe tcp  [--timeout 3s] [--attempts 1] HOST:PORT
  netcert-probe udp  [--timeout 3s] [--attempts 1] [--resend 0] [--full-mtu] HOST:PORT
  netcert-probe dns  [--server IP:PORT] [--type A] [--timeout 3s] [--attempts 1] NAME
  netcert-probe batch '[["udp","HOST:PORT"],["dns","NAME"],...]'

Client subcommands wait --pause (500ms) between attempts, print one JSON line on
stdout and exit 0 (ok), 1 (not ok) or 2 (usage error). batch runs client command lines at once and prints their
lines in order; it exits 0 when every check ran. serve runs until SIGTERM or
SIGINT.
`

// errUsage marks an error in the command line.
var errUsage = errors.New("usage error")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "netcert-probe: missing subcommand\n\n"+usageText)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = runServe(ctx, rest, stderr)
	case "batch":
		err = runBatch(ctx, rest, stdout)
	case "http", "tcp", "udp", "dns":
		var ok bool
		ok, err = runClient(ctx, cmd, rest, stdout)
		if err == nil && !ok {
			return exitFail
		}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		err = fmt.Errorf("%w: unknown subcommand %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stderr, usageText)
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "netcert-probe: %v\n\n%s", err, usageText)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "netcert-probe: %v\n", err)
		return exitFail
	}
}

// usageErrorf returns a usage error with a formatted message.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// parseArgs parses flags that may appear before or after the positional
// arguments, which it returns. A "--" ends flag parsing.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
