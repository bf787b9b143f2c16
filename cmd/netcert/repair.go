package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/netcert/netcert/doctor"
)

// maxRepairRounds bounds the repair loop: each round repairs one root cause and looks again.
const maxRepairRounds = 8

// repairCommand plans the repair of every root cause the sweep names (consequences are repaired
// through their causes, never on their own). With --apply it repairs the first root cause in
// causal order, sweeps again and goes on from what the new sweep says, until the sweep is clean
// (exit 0, whatever the first sweep said), a root cause needs a person, or a repair does not
// take (exit 1).
func repairCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	var apply *bool
	t, s, exit := start(ctx, "repair", args, stderr, conn, func(fs *flag.FlagSet) {
		apply = fs.Bool("apply", false, "repair the first root cause, look again, and go on until every check passes (default: only plan)")
	})
	if s == nil {
		return exit
	}
	var lastApplied []string // the refs the last applied plan was for
	for round := 1; ; round++ {
		if round > 1 {
			fmt.Fprintf(stdout, "\nlooking again (sweep %d) ...\n", round)
		}
		results, findings := diagnose(ctx, s, stderr)
		trouble := false
		for _, r := range results {
			if r.Error != "" {
				trouble = true
				fmt.Fprintf(stdout, "%s could not evaluate, so it is not repaired: %s\n", r.Check, r.Error)
			}
		}
		roots := doctor.RootCauses(findings)
		if len(roots) == 0 {
			switch {
			case trouble:
				return exitTrouble
			case round == 1:
				fmt.Fprintln(stdout, "no check failed: nothing to repair")
			default:
				fmt.Fprintln(stdout, "every check passes now")
			}
			return exitOK
		}
		printCauses(stdout, findings)
		plans := planRoots(ctx, s, roots, stdout, t.verbose)
		if !*apply {
			fmt.Fprintln(stdout, "\nnothing changed: run again with --apply to repair the root causes in this order, looking again after each")
			return worse(exitFailed, trouble)
		}
		next := slices.IndexFunc(plans, func(p rootPlan) bool { return len(p.plan.Actions) > 0 && len(p.plan.Manual) == 0 })
		if next < 0 {
			fmt.Fprintf(stdout, "\n%d root cause(s) left that netcert does not repair on its own: take the steps above, then run netcert doctor again\n", len(roots))
			return worse(exitFailed, trouble)
		}
		chosen := plans[next]
		if slices.Equal(chosen.refs, lastApplied) {
			fmt.Fprintf(stdout, "\n%s still fails after its repair: stopping (run with -v for the evidence)\n", strings.Join(chosen.refs, ", "))
			return worse(exitFailed, trouble)
		}
		if round > maxRepairRounds {
			fmt.Fprintf(stdout, "\nstopping after %d repairs: root causes keep appearing (%s)\n", maxRepairRounds, strings.Join(chosen.refs, ", "))
			return worse(exitFailed, trouble)
		}
		fmt.Fprintf(stdout, "\nrepairing %s first:\n", chosen.problem.ID())
		if !applyPlan(ctx, s, chosen.problem, chosen.plan, stdout, t.verbose) {
			return worse(exitFailed, trouble)
		}
		lastApplied = chosen.refs
	}
}

func worse(status int, trouble bool) int {
	if trouble {
		return exitTrouble
	}
	return status
}

// printCauses prints each root cause with the consequences it explains.
func printCauses(w io.Writer, findings []doctor.Finding) {
	for _, root := range doctor.RootCauses(findings) {
		fmt.Fprintf(w, "root cause: %s\n", root)
		for _, f := range findings {
			if f.CausedBy == root.Ref() {
				fmt.Fprintf(w, "  consequence: %s %s: %s\n", f.Check, where(f), f.Summary)
			}
		}
	}
}

// rootPlan is the plan of one problem for its root-cause findings.
type rootPlan struct {
	problem doctor.Problem
	refs    []string
	plan    doctor.Plan
}

// planRoots plans, in causal order, each problem's repair of its root-cause findings, and prints
// the plans.
func planRoots(ctx context.Context, s *session, roots []doctor.Finding, w io.Writer, verbose bool) []rootPlan {
	var out []rootPlan
	for _, p := range s.problems {
		var mine []doctor.Finding
		var refs []string
		for _, f := range roots {
			if f.Check == p.ID() {
				mine, refs = append(mine, f), append(refs, f.Ref())
			}
		}
		if len(mine) == 0 {
			continue
		}
		plan, err := p.Plan(ctx, s.cluster, mine)
		if err != nil {
			fmt.Fprintf(w, "%s: no plan: %v\n", p.ID(), err)
			plan = doctor.Plan{Check: p.ID(), Manual: []string{"netcert could not plan this repair: " + err.Error()}}
		}
		fmt.Fprintf(w, "plan for %s:\n", p.ID())
		printPlan(w, plan, verbose)
		out = append(out, rootPlan{problem: p, refs: refs, plan: plan})
	}
	return out
}

// applyPlan applies the plan and prints what changed: true when it applied without error.
func applyPlan(ctx context.Context, s *session, p doctor.Problem, plan doctor.Plan, w io.Writer, verbose bool) bool {
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
	return true
}
