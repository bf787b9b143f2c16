package doctor

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Check detects one kind of problem. Run returns a finding per node or object it looked at; an
// error means it could not evaluate (never a Pass).
type Check interface {
	ID() string
	Run(ctx context.Context, c *Cluster) ([]Finding, error)
}

// Repair fixes what one check finds.
type Repair interface {
	ID() string
	// Plan says what Apply would change for these findings (the check's own, Fail ones matter);
	// an empty plan means nothing to do.
	Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error)
	// Apply carries out the plan idempotently: applying it twice changes nothing the second time.
	Apply(ctx context.Context, c *Cluster, p Plan) (Record, error)
}

// Problem is a check with its repair, under one ID.
type Problem interface {
	Check
	Repair
}

// Plan is what a repair would change.
type Plan struct {
	Check   string   `json:"check"`
	Actions []Action `json:"actions,omitempty"`
	// Manual holds the exact steps a person must take where the repair cannot be automated
	// safely; a plan with manual steps is not applied automatically.
	Manual []string `json:"manual,omitempty"`
}

// Empty reports whether the plan changes nothing and asks nothing of a person.
func (p Plan) Empty() bool { return len(p.Actions) == 0 && len(p.Manual) == 0 }

// Action is one change on one node or object.
type Action struct {
	Node    string     `json:"node,omitempty"`
	Object  string     `json:"object,omitempty"`
	Summary string     `json:"summary"`
	Argv    [][]string `json:"argv,omitempty"` // the node commands it runs, in order
}

// Record is the audit trail of an applied plan.
type Record struct {
	Check string `json:"check"`
	Steps []Step `json:"steps"`
}

// Step is what applying one action did.
type Step struct {
	Action   Action     `json:"action"`
	Changed  bool       `json:"changed"` // false when the state was already as planned
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Diagnose runs every check, checkConcurrency at a time, and returns all findings in the checks'
// order; if a check cannot evaluate, it returns the findings of the checks before it and the error
// of the first such check.
func Diagnose(ctx context.Context, c *Cluster, checks []Check) ([]Finding, error) {
	all, _, err := diagnose(ctx, c, checks)
	return all, err
}

// diagnose is Diagnose, with each check's run.
func diagnose(ctx context.Context, c *Cluster, checks []Check) ([]Finding, []Result, error) {
	var all []Finding
	results := RunEach(ctx, c, checks, nil)
	for _, r := range results {
		if r.Err != nil {
			return all, results, fmt.Errorf("check %s: %w", r.Check, r.Err)
		}
		all = append(all, r.Findings...)
	}
	return all, results, nil
}

// Result is one check's run.
type Result struct {
	Check    string
	Findings []Finding
	Err      error // the check could not evaluate
	Took     time.Duration
}

// RunEach runs the checks, checkConcurrency at a time, with the node reads they share run once
// (sharedReads), and returns their results in the checks' order; done, if set, is called with
// each result as its check finishes, one call at a time.
func RunEach(ctx context.Context, c *Cluster, checks []Check, done func(Result)) []Result {
	sweep := *c
	sweep.Nodes = sharingReads(c.Nodes)
	c = &sweep
	results := make([]Result, len(checks))
	var mu sync.Mutex
	concurrently(len(checks), checkConcurrency, func(i int) {
		start := time.Now()
		c.log().Debug("running check", "check", checks[i].ID())
		findings, err := checks[i].Run(ctx, c)
		results[i] = Result{Check: checks[i].ID(), Findings: findings, Err: err, Took: time.Since(start)}
		if done != nil {
			mu.Lock()
			defer mu.Unlock()
			done(results[i])
		}
	})
	return results
}

// findingsOf returns the findings of one check with one status.
func findingsOf(findings []Finding, check string, status Status) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Check == check && f.Status == status {
			out = append(out, f)
		}
	}
	return out
}
