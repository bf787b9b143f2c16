package main

import (
	"context"
	"errors"
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
// through their causes, never on their own) and writes the plans to a file for a person to
// review. `repair --apply FILE` carries out exactly that file: it sweeps, plans again and applies
// a plan only while the new plan is the file's; it repairs the first root cause in causal order,
// sweeps again and goes on, until the sweep is clean (exit 0), a root cause needs a person or a
// repair does not take (exit 1), or the cluster changed since the plan (exit 2, nothing applied
// from then on).
func repairCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	var apply, deleteHostRanges *bool
	var planPath *string
	var pf planFile
	t, s, exit := start(ctx, "repair", args, stderr, conn, func(fs *flag.FlagSet) func([]string) error {
		apply = fs.Bool("apply", false, "carry out the plan file named after the flags, exactly (`netcert repair --apply "+defaultPlanFile+"`), while the cluster still needs exactly that")
		planPath = fs.String("plan-file", defaultPlanFile, "where the plan is written (without --apply)")
		deleteHostRanges = fs.Bool("delete-host-ranges", false, "plan to delete a node's route or address that overlaps a pod range where netcert shows it is not the node's own (pod-cidr-overlap; otherwise a manual step)")
		return func(rest []string) error {
			if !*apply {
				if len(rest) > 0 {
					return fmt.Errorf("unexpected arguments %q: a plan file goes with --apply", rest)
				}
				return nil
			}
			if len(rest) != 1 {
				return errors.New("--apply needs the plan file `netcert repair` wrote: netcert repair [flags] --apply " + defaultPlanFile)
			}
			var err error
			pf, err = readPlanFile(rest[0])
			return err
		}
	})
	if s == nil {
		return exit
	}
	defer s.close(ctx, stderr)
	if *apply {
		s.problems = withConsent(s.problems, pf.DeleteHostRanges)
		return applyPlanFile(ctx, s, pf, t.verbose, stdout, stderr)
	}
	s.problems = withConsent(s.problems, *deleteHostRanges)
	results, findings := diagnose(ctx, s, stderr)
	trouble := printTrouble(stdout, results)
	roots := doctor.RootCauses(findings)
	if len(roots) == 0 {
		if trouble {
			return exitTrouble
		}
		fmt.Fprintln(stdout, "no check failed: nothing to repair")
		return exitOK
	}
	printCauses(stdout, findings)
	pf = newPlanFile(s.identity, roots, planRoots(ctx, s, roots, stdout, t.verbose))
	pf.DeleteHostRanges = *deleteHostRanges
	if err := writePlanFile(*planPath, pf); err != nil {
		fmt.Fprintf(stderr, "netcert repair: %v\n", err)
		return exitTrouble
	}
	fmt.Fprintf(stdout, "\nnothing changed: the plan is in %s; review it, then `netcert repair --apply %s` carries out exactly that, root cause by root cause, looking again after each\n", *planPath, *planPath)
	return worse(exitFailed, trouble)
}

// withConsent gives pod-cidr-overlap the person's consent to delete nodes' overlapping ranges.
func withConsent(problems []doctor.Problem, deleteHostRanges bool) []doctor.Problem {
	out := slices.Clone(problems)
	for i, p := range out {
		if o, ok := p.(doctor.PodCIDROverlap); ok {
			o.DeleteHostRanges = deleteHostRanges
			out[i] = o
		}
	}
	return out
}

// printTrouble says which checks could not evaluate; true when one could not.
func printTrouble(w io.Writer, results []checkResult) bool {
	trouble := false
	for _, r := range results {
		if r.Error != "" {
			trouble = true
			fmt.Fprintf(w, "%s could not evaluate, so it is not repaired: %s\n", r.Check, r.Error)
		}
	}
	return trouble
}

// applyPlanFile carries out pf: each round sweeps, plans the root causes again, and applies the
// file's plan for the first one netcert repairs, only when the plan made now is the file's.
func applyPlanFile(ctx context.Context, s *session, pf planFile, verbose bool, stdout, stderr io.Writer) int {
	if pf.Cluster != s.identity {
		fmt.Fprintf(stderr, "netcert repair: the plan is for the cluster at %q, not this one (%q): plan again against this cluster\n", pf.Cluster, s.identity)
		return exitTrouble
	}
	var lastApplied []string // the refs the last applied plan was for
	for round := 1; ; round++ {
		if round > 1 {
			fmt.Fprintf(stdout, "\nlooking again (sweep %d) ...\n", round)
		}
		results, findings := diagnose(ctx, s, stderr)
		trouble := printTrouble(stdout, results)
		roots := doctor.RootCauses(findings)
		if len(roots) == 0 {
			switch {
			case trouble:
				return exitTrouble
			case round == 1:
				fmt.Fprintln(stdout, "no check fails: the plan is not needed any more, nothing changed")
			default:
				fmt.Fprintln(stdout, "every check passes now")
			}
			return exitOK
		}
		printCauses(stdout, findings)
		for _, r := range roots {
			if !slices.Contains(pf.RootCauses, r.Ref()) {
				return changedSincePlan(stdout, fmt.Sprintf("%s is a root cause the plan does not know", r.Ref()))
			}
		}
		plans := planRoots(ctx, s, roots, io.Discard, verbose)
		next := slices.IndexFunc(plans, func(p rootPlan) bool { return len(p.plan.Actions) > 0 && len(p.plan.Manual) == 0 })
		if next < 0 {
			fmt.Fprintf(stdout, "\n%d root cause(s) left that netcert does not repair on its own: take the plan's manual steps, then run netcert doctor again\n", len(roots))
			return worse(exitFailed, trouble)
		}
		chosen := plans[next]
		i := slices.IndexFunc(pf.Plans, func(fp filePlan) bool { return fp.Plan.Check == chosen.problem.ID() })
		if i < 0 {
			return changedSincePlan(stdout, "the plan has no repair for "+chosen.problem.ID())
		}
		if diff := pf.Plans[i].sameAs(chosen); diff != "" {
			return changedSincePlan(stdout, diff)
		}
		if slices.Equal(chosen.refs, lastApplied) {
			fmt.Fprintf(stdout, "\n%s still fails after its repair: stopping (run with -v for the evidence)\n", strings.Join(chosen.refs, ", "))
			return worse(exitFailed, trouble)
		}
		if round > maxRepairRounds {
			fmt.Fprintf(stdout, "\nstopping after %d repairs: root causes keep appearing (%s)\n", maxRepairRounds, strings.Join(chosen.refs, ", "))
			return worse(exitFailed, trouble)
		}
		fmt.Fprintf(stdout, "\nrepairing %s, as planned:\n", chosen.problem.ID())
		if !applyPlan(ctx, s, chosen.problem, pf.Plans[i].Plan, stdout, verbose) {
			return worse(exitFailed, trouble)
		}
		lastApplied = chosen.refs
	}
}

// changedSincePlan refuses to apply more of a plan the cluster no longer matches.
func changedSincePlan(w io.Writer, why string) int {
	fmt.Fprintf(w, "\nthe cluster changed since the plan (%s): nothing more is applied; run `netcert repair` again and review the new plan\n", why)
	return exitTrouble
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
