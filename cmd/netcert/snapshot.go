package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/netcert/netcert/doctor"
)

// snapshotCommand keeps the cluster's Corefile as the known-good one when every forward target
// of it answers: the doctor itself writes nothing, so this is the explicit step that
// coredns-forward-broken's repair falls back on.
func snapshotCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	t, s, exit := start(ctx, "snapshot", args, stderr, conn, func(*flag.FlagSet) func([]string) error { return nil })
	if s == nil {
		return exit
	}
	defer s.close(ctx, stderr)
	kept, did, err := doctor.SnapshotCorefile(ctx, s.cluster, doctor.CoreDNSForwardBroken{QueryName: t.dnsName})
	if err != nil {
		fmt.Fprintf(stderr, "netcert snapshot: %v\n", err)
		return exitTrouble
	}
	fmt.Fprintln(stdout, did)
	if !kept {
		return exitFailed
	}
	return exitOK
}
