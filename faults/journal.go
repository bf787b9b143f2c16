package faults

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/netcert/netcert/node"
)

// JournalDir holds, on a node, one entry per fault netcert injected there and has not reverted:
// the shell script that reverts it. An injector writes its entry before it changes anything and
// its revert removes the entry, so what a killed run left behind is marked, and `netcert clean`
// (RevertJournal) undoes it. /run is a tmpfs: it goes with a reboot, as the faults do.
const JournalDir = "/run/netcert/faults"

// The journal's node commands; their scripts take the path (and content) as arguments, never
// through the shell's parser.
var (
	journalWrite = []string{"sh", "-c", `mkdir -p "${1%/*}" && printf '%s\n' "$2" > "$1.tmp" && mv "$1.tmp" "$1"`, "netcert-journal"}
	journalList  = []string{"sh", "-c", `for f in "$1"/*; do [ -f "$f" ] && echo "$f"; done; exit 0`, "netcert-journal"}
	journalRun   = []string{"sh", "-c", `sh -e "$1" && rm -f "$1"`, "netcert-journal"}
	journalDrop  = []string{"sh", "-c", `rm -f "$1"`, "netcert-journal"}
)

func journalPath(fault string) string { return path.Join(JournalDir, fault) }

// journaled writes the journal entry of fault on n (script reverts it), then returns revert
// wrapped so that a successful revert also removes the entry.
func journaled(ctx context.Context, n node.Node, fault, script string, revert Revert) (Revert, error) {
	p := journalPath(fault)
	if _, err := node.Run(ctx, n, append(append([]string{}, journalWrite...), p, script)...); err != nil {
		return nil, fmt.Errorf("write the fault's journal entry %s on %s: %w", p, n.Name(), err)
	}
	return func(ctx context.Context) error {
		if err := revert(ctx); err != nil {
			return err
		}
		_, err := node.Run(ctx, n, append(append([]string{}, journalDrop...), p)...)
		return err
	}, nil
}

// RevertJournal runs and removes every journal entry on n, and names the faults it reverted.
func RevertJournal(ctx context.Context, n node.Node) ([]string, error) {
	out, err := node.Run(ctx, n, append(append([]string{}, journalList...), JournalDir)...)
	if err != nil {
		return nil, fmt.Errorf("list %s on %s: %w", JournalDir, n.Name(), err)
	}
	var reverted []string
	var errs []error
	for _, p := range strings.Fields(out) {
		if _, err := node.Run(ctx, n, append(append([]string{}, journalRun...), p)...); err != nil {
			errs = append(errs, fmt.Errorf("revert %s on %s: %w", p, n.Name(), err))
			continue
		}
		reverted = append(reverted, path.Base(p))
	}
	return reverted, errors.Join(errs...)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shellLine quotes each word of argv and joins them into one command line.
func shellLine(argv ...string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}
