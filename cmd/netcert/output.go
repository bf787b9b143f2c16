package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/netcert/netcert/doctor"
)

// printResults prints the checks that could not evaluate, then a line per finding in causal
// order (root causes first; a consequence says what causes it), with the evidence when verbose,
// and a summary line.
func printResults(w io.Writer, results []checkResult, findings []doctor.Finding, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	count := map[string]int{}
	for _, r := range results {
		if r.Error != "" {
			count["could not evaluate"]++
			fmt.Fprintf(tw, "%s\tERROR\t\tcould not evaluate: %s\n", r.Check, r.Error)
			continue
		}
		count[resultWord(r)]++
	}
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Check, statusWord(f), where(f), summaryLine(f))
	}
	_ = tw.Flush()
	if verbose {
		for _, f := range findings {
			if len(f.Evidence) > 0 {
				fmt.Fprintf(w, "\nevidence of %s %s [%s]:\n", f.Check, f.Status, where(f))
				printEvidence(w, f.Evidence)
			}
		}
	}
	if roots := len(doctor.RootCauses(findings)); roots > 0 {
		fmt.Fprintf(w, "\n%d root cause(s), %d consequence(s)\n", roots, len(doctor.Failed(findings))-roots)
	}
	var parts []string
	for _, word := range []string{"Fail", "Warn", "Pass", "NotApplicable", "could not evaluate"} {
		if count[word] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[word], word))
		}
	}
	fmt.Fprintf(w, "\n%d checks: %s\n", len(results), strings.Join(parts, ", "))
}

// statusWord is the finding's status, "Fail (consequence)" for a failure another one explains.
func statusWord(f doctor.Finding) string {
	if f.CausedBy != "" {
		return string(f.Status) + " (consequence)"
	}
	return string(f.Status)
}

// summaryLine is the summary, with the cause of a consequence.
func summaryLine(f doctor.Finding) string {
	if f.CausedBy != "" {
		return f.Summary + " [caused by " + f.CausedBy + "]"
	}
	return f.Summary
}

func where(f doctor.Finding) string {
	if w := f.Where(); w != "" {
		return w
	}
	return "cluster"
}

func printEvidence(w io.Writer, evidence []doctor.Evidence) {
	for _, ev := range evidence {
		fmt.Fprintf(w, "  %s\n", ev.Source)
		for _, line := range strings.Split(strings.TrimRight(ev.Output, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

// printPlan prints what a repair would do.
func printPlan(w io.Writer, plan doctor.Plan, verbose bool) {
	for _, a := range plan.Actions {
		fmt.Fprintf(w, "  - %s: %s\n", strings.TrimSpace(a.Node+" "+a.Object), a.Summary)
		if verbose {
			for _, argv := range a.Argv {
				fmt.Fprintf(w, "      $ %s\n", strings.Join(argv, " "))
			}
		}
	}
	for _, m := range plan.Manual {
		fmt.Fprintf(w, "  - by hand: %s\n", m)
	}
}
