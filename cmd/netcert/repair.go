package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/netcert/netcert/doctor"
)

func repairCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	var apply *bool
	t, s, exit := start(ctx, "repair", args, stderr, conn, func(fs *flag.FlagSet) {
		apply = fs.Bool("apply", false, "carry out the planned actions, then run each repaired check again (default: only plan)")
	})
	if s == nil {
		return exit
	}
	results := diagnose(ctx, s, stderr)
	status := verdict(results)
	if status == exitOK {
		fmt.Fprintln(stdout, "no check failed: nothing to repair")
		return exitOK
	}
	remaining, trouble, planned := 0, status == exitTrouble, 0
	for i, p := range s.problems {
		r := results[i]
		if r.Error != "" {
			fmt.Fprintf(stdout, "%s could not evaluate, so it is not repaired: %s\n", p.ID(), r.Error)
			continue
		}
		failed := doctor.Failed(r.Findings)
		if len(failed) == 0 {
			continue
		}
		for _, f := range failed {
			fmt.Fprintf(stdout, "%s\n", f)
		}
		plan, err := p.Plan(ctx, s.cluster, r.Findings)
		if err != nil {
			fmt.Fprintf(stdout, "%s: no plan: %v\n", p.ID(), err)
			remaining, trouble = remaining+1, true
			continue
		}
		fmt.Fprintf(stdout, "plan for %s:\n", p.ID())
		printPlan(stdout, plan, t.verbose)
		planned++
		if !*apply {
			remaining++
			continue
		}
		if len(plan.Manual) > 0 {
			fmt.Fprintf(stdout, "%s: not applied: the plan has steps for a person; take them, then run netcert doctor again\n", p.ID())
			remaining++
			continue
		}
		if !applyAndRecheck(ctx, s, p, plan, stdout, t.verbose) {
			remaining++
		}
	}
	switch {
	case !*apply && planned > 0:
		fmt.Fprintln(stdout, "\nnothing changed: run again with --apply to carry out the actions above")
	case *apply:
		fmt.Fprintf(stdout, "\n%d problem(s) still failing\n", remaining)
	}
	if trouble {
		return exitTrouble
	}
	if remaining > 0 {
		return exitFailed
	}
	return exitOK
}

// applyAndRecheck applies the plan, prints what changed, and runs the check again: true when it
// no longer fails.
func applyAndRecheck(ctx context.Context, s *session, p doctor.Problem, plan doctor.Plan, w io.Writer, verbose bool) bool {
	rec, err := p.Apply(ctx, s.cluster, plan)
	for _, step := range rec.Steps {
		changed := "already as planned"
		if step.Changed {
			changed = "changed"
		}
		fmt.Fprintf(w, "  applied %s: %s\n", step.Action.Summary, changed)
		if verbose {
			printEvidence(w, step.Evidence)
		}
	}
	if err != nil {
		fmt.Fprintf(w, "%s: apply failed: %v\n", p.ID(), err)
		return false
	}
	findings, err := p.Run(ctx, s.cluster)
	if err != nil {
		fmt.Fprintf(w, "%s: could not check again: %v\n", p.ID(), err)
		return false
	}
	if failed := doctor.Failed(findings); len(failed) > 0 {
		fmt.Fprintf(w, "%s still fails: %s\n", p.ID(), failed[0])
		return false
	}
	fmt.Fprintf(w, "%s repaired: the check passes again\n", p.ID())
	return true
}
