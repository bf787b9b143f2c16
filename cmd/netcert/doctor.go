package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/netcert/netcert/doctor"
)

// checkResult is what one check said about the cluster, or why it could not say.
type checkResult struct {
	Check    string           `json:"check"`
	Findings []doctor.Finding `json:"findings,omitempty"`
	Error    string           `json:"error,omitempty"`
}

func doctorCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	var asJSON *bool
	t, s, exit := start(ctx, "doctor", args, stderr, conn, func(fs *flag.FlagSet) func([]string) error {
		asJSON = fs.Bool("json", false, "print the results as JSON (check, findings with evidence, error)")
		return nil
	})
	if s == nil {
		return exit
	}
	defer s.close(ctx, stderr)
	results, findings := diagnose(ctx, s, stderr)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "netcert doctor: %v\n", err)
			return exitTrouble
		}
	} else {
		printResults(stdout, results, findings, t.verbose)
	}
	return verdict(results)
}

// diagnose runs every check of the session, each on its own so that one that cannot evaluate
// does not hide the others, with a progress line per check, and explains the findings: it
// returns each check's result, its findings marked with their causes, and every finding in
// causal order (root causes first, then their consequences).
func diagnose(ctx context.Context, s *session, progress io.Writer) ([]checkResult, []doctor.Finding) {
	results := sweep(ctx, s, progress)
	var all []doctor.Finding
	for _, r := range results {
		all = append(all, r.Findings...)
	}
	explained := doctor.Conclude(ctx, s.cluster, all)
	for i := range results {
		results[i].Findings = nil
		for _, f := range explained {
			if f.Check == results[i].Check {
				results[i].Findings = append(results[i].Findings, f)
			}
		}
	}
	return results, explained
}

// sweep runs every check once, several at a time, with a progress line as each finishes; the
// results come in the checks' order.
func sweep(ctx context.Context, s *session, progress io.Writer) []checkResult {
	fmt.Fprintf(progress, "running %d checks on %d nodes (%s) ...\n", len(s.problems), len(s.cluster.Nodes), s.cluster.CNI)
	var results []checkResult
	for _, r := range doctor.RunEach(ctx, s.cluster, doctor.Checks(s.problems), func(r doctor.Result) {
		fmt.Fprintf(progress, "  %s: %s in %s\n", r.Check, resultWord(checkResultOf(r)), r.Took.Round(100*time.Millisecond))
	}) {
		results = append(results, checkResultOf(r))
	}
	return results
}

// checkResultOf is the CLI's form of a check's result.
func checkResultOf(r doctor.Result) checkResult {
	cr := checkResult{Check: r.Check, Findings: r.Findings}
	if r.Err != nil {
		cr.Error = r.Err.Error()
	}
	return cr
}

// verdict is the exit status: trouble when a check could not evaluate, failed when one failed.
func verdict(results []checkResult) int {
	status := exitOK
	for _, r := range results {
		if r.Error != "" {
			return exitTrouble
		}
		if len(doctor.Failed(r.Findings)) > 0 {
			status = exitFailed
		}
	}
	return status
}

// resultWord sums up one check: "could not evaluate", or its worst status.
func resultWord(r checkResult) string {
	if r.Error != "" {
		return "could not evaluate"
	}
	worst := doctor.NotApplicable
	for _, f := range r.Findings {
		if rank(f.Status) > rank(worst) {
			worst = f.Status
		}
	}
	return string(worst)
}

func rank(s doctor.Status) int {
	switch s {
	case doctor.Fail:
		return 3
	case doctor.Warn:
		return 2
	case doctor.Pass:
		return 1
	}
	return 0
}
