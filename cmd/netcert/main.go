// Command netcert runs netcert's checks and repairs against a running cluster.
//
//	netcert doctor [--kind NAME] [flags]           name each network problem, with evidence
//	netcert repair [--kind NAME] [flags]           plan the repairs of what doctor names, into a plan file
//	netcert repair [flags] --apply PLANFILE        carry out exactly that plan, while the cluster still needs it
//	netcert snapshot [--kind NAME] [flags]         keep the Corefile as known-good, when it is
//	netcert agent install|remove [flags]           a standing node agent (runs start their own otherwise)
//	netcert probes install|remove [flags]          the probe pods the traffic checks send from
//	netcert certify [--kind NAME] [--out DIR] [--inject F --allow-nodes N]  certify the cluster, with reports
//	netcert clean [--kind NAME] [--machine] [--check]  remove what netcert left, faults included
//
// Nodes are reached through kind (docker exec) for a kind cluster on this machine, or through
// netcert's agent pods on any cluster; the checks that send traffic use netcert's probe pods
// (namespace netcert-system), which the test bed's clusters run and `netcert probes install`
// installs. Exit status: 0 nothing failed,
// 1 a check failed (doctor) or a failure remains (repair), 2 bad usage or a check that could not
// evaluate.
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
	exitOK       = 0
	exitFailed   = 1
	exitTrouble  = 2
	usageSummary = `usage: netcert <command> [flags]

commands:
  doctor   run every check against a cluster and name each problem with its evidence
  repair   plan the repairs of what doctor names into a plan file (netcert-plan.json); with
           --apply PLANFILE, carry out exactly that plan, looking again after each root cause
  snapshot keep the CoreDNS Corefile as known-good (when every forward target answers), for
           coredns-forward-broken's repair; the only command that writes without --apply
  agent    install or remove a standing node agent; without one, doctor and repair --nodes agent
           start an agent for their run and remove it after
  probes   install or remove netcert's probe pods, which the traffic checks send from
  certify  every check and the traffic matrix against a running cluster, written as JUnit, JSON,
           HTML and Markdown reports; faults only with --inject and --allow-nodes
  clean    revert the faults netcert left injected and remove everything it put on a cluster
           (--kind/--context) or on this machine (--machine); --check only lists it

Run 'netcert <command> -h' for the flags.
`
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, connect))
}

// connector builds what the checks look at from the target flags (a seam for tests).
type connector func(ctx context.Context, t target, stderr io.Writer) (*session, error)

// start parses a command's flags (the shared ones, and those extra registers) and connects to the
// target. extra may return a check of the arguments left after the flags, run before connecting.
// When it could not, having said why, s is nil and exit is the command's exit status.
func start(ctx context.Context, command string, args []string, stderr io.Writer, conn connector, extra func(*flag.FlagSet) func(rest []string) error) (t target, s *session, exit int) {
	fs := flag.NewFlagSet("netcert "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	t.register(fs)
	checkRest := extra(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return t, nil, exitOK
	} else if err != nil {
		return t, nil, exitTrouble
	}
	if checkRest == nil && fs.NArg() > 0 {
		checkRest = func(rest []string) error { return fmt.Errorf("unexpected arguments %q: flags only", rest) }
	}
	if checkRest != nil {
		if err := checkRest(fs.Args()); err != nil {
			fmt.Fprintf(stderr, "netcert %s: %v\n", command, err)
			return t, nil, exitTrouble
		}
	}
	s, err := conn(ctx, t, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "netcert %s: %v\n", command, err)
		return t, nil, exitTrouble
	}
	return t, s, exitOK
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usageSummary)
		if len(args) == 0 {
			return exitTrouble
		}
		return exitOK
	}
	switch args[0] {
	case "doctor":
		return doctorCommand(ctx, args[1:], stdout, stderr, conn)
	case "repair":
		return repairCommand(ctx, args[1:], stdout, stderr, conn)
	case "snapshot":
		return snapshotCommand(ctx, args[1:], stdout, stderr, conn)
	case "certify":
		return certifyCommand(ctx, args[1:], stdout, stderr, conn)
	case "clean":
		return cleanCommand(ctx, args[1:], stdout, stderr, conn)
	case "agent", "probes":
		return workloadCommand(ctx, args[0], args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "netcert: unknown command %q\n\n%s", args[0], usageSummary)
		return exitTrouble
	}
}
