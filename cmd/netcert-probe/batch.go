package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// runBatch runs several client checks at once, given as one JSON argument (a list of client
// command lines, e.g. [["udp","--timeout","2s","10.244.1.3:8082"],["http","http://..."]]), and
// prints their result lines in the list's order: one process, one exec into a pod, however many
// cases a sender has. A usage error in any line prints no result at all.
func runBatch(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageErrorf("batch: want one JSON list of client command lines, got %d arguments", len(args))
	}
	var lines [][]string
	if err := json.Unmarshal([]byte(args[0]), &lines); err != nil {
		return usageErrorf("batch: %v", err)
	}
	for i, line := range lines {
		if len(line) == 0 || !isClient(line[0]) {
			return usageErrorf("batch: command line %d is not a client check (http, tcp, udp, dns): %q", i, line)
		}
	}
	outs := make([]bytes.Buffer, len(lines))
	errs := make([]error, len(lines))
	var wg sync.WaitGroup
	for i, line := range lines {
		wg.Go(func() { _, errs[i] = runClient(ctx, line[0], line[1:], &outs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("batch: command line %d (%q): %w", i, lines[i], err)
		}
	}
	for i := range outs {
		if _, err := stdout.Write(outs[i].Bytes()); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// isClient reports whether cmd is a client subcommand.
func isClient(cmd string) bool { return cmd == "http" || cmd == "tcp" || cmd == "udp" || cmd == "dns" }
