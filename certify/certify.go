// Package certify certifies a running cluster's network: every check passes and real traffic
// flows on every core path; and, only for the faults and nodes a person names, that each fault
// breaks traffic, is named as the root cause, and is gone once reverted. It records what it did
// in the same reports the suites write.
package certify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/registry"
	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/traffic"
)

// Case IDs of the non-disruptive part.
const (
	ChecksCase  = "checks"
	TrafficCase = "traffic-matrix"
)

// Options say what a certification does.
type Options struct {
	Problems []doctor.Problem
	// Inject are the IDs of the faults to inject, one after the other, on Nodes[0]; none by
	// default. Nodes are the nodes a person allowed faults to touch.
	Inject []string
	Nodes  []string
	Log    io.Writer // progress lines
}

// Injectable returns the faults certify can inject on a node of an existing cluster: those with
// an injector that needs nothing but a node.
func Injectable() []string {
	var ids []string
	for _, e := range registry.All() {
		if slices.ContainsFunc(e.Injectors, func(in registry.Injector) bool { return in.Portable }) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Validate refuses injection without allowed nodes, unknown faults, and nodes the cluster lacks.
func (o Options) Validate(clusterNodes []string) error {
	if len(o.Inject) == 0 {
		return nil
	}
	if len(o.Nodes) == 0 {
		return errors.New("fault injection needs the nodes it may touch: --allow-nodes NODE[,NODE]")
	}
	for _, id := range o.Inject {
		if !slices.Contains(Injectable(), id) {
			return fmt.Errorf("certify cannot inject %q (it can: %s)", id, strings.Join(Injectable(), ", "))
		}
	}
	for _, n := range o.Nodes {
		if !slices.Contains(clusterNodes, n) {
			return fmt.Errorf("--allow-nodes: the cluster has no node %q (nodes: %s)", n, strings.Join(clusterNodes, ", "))
		}
	}
	return nil
}

// Run certifies c, recording each case in rec; fc reaches the same cluster for the faults. It
// returns an error only when it could not go on; what failed is in the record.
func Run(ctx context.Context, c *doctor.Cluster, fc *faults.Cluster, opt Options, rec *reports.Recorder) error {
	s := &session{c: c, fc: fc, opt: opt, rec: rec}
	healthy := s.checksCase(ctx) && s.trafficCase(ctx)
	for _, id := range opt.Inject {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.faultCase(ctx, id, healthy)
	}
	return ctx.Err()
}

type session struct {
	c   *doctor.Cluster
	fc  *faults.Cluster
	opt Options
	rec *reports.Recorder
}

func (s *session) logf(format string, args ...any) {
	if s.opt.Log != nil {
		fmt.Fprintf(s.opt.Log, format+"\n", args...)
	}
}

// step runs fn as a step of caseID and records it; fn returns the step's failure messages.
func (s *session) step(caseID, name string, fn func() []string) bool {
	s.logf("%s: %s ...", caseID, name)
	start := time.Now()
	msgs := fn()
	outcome := reports.Passed
	if len(msgs) > 0 {
		outcome = reports.Failed
	}
	s.rec.Step(caseID, reports.Step{Name: name, Outcome: outcome, DurationMS: time.Since(start).Milliseconds(), Messages: msgs})
	s.logf("%s: %s: %s (%s)", caseID, name, outcome, time.Since(start).Round(100*time.Millisecond))
	return outcome == reports.Passed
}

// sweep runs every check (several at a time, findings in causal order) and says what fails.
func (s *session) sweep(ctx context.Context) ([]doctor.Finding, []string) {
	var all []doctor.Finding
	var msgs []string
	for _, r := range doctor.RunEach(ctx, s.c, doctor.Checks(s.opt.Problems), nil) {
		if r.Err != nil {
			msgs = append(msgs, fmt.Sprintf("%s could not evaluate: %v", r.Check, r.Err))
		}
		all = append(all, r.Findings...)
	}
	all = doctor.Conclude(ctx, s.c, all)
	for _, f := range all {
		if f.Status == doctor.Fail || f.Status == doctor.Warn {
			msgs = append(msgs, f.String())
		}
	}
	return all, msgs
}

// checksCase: every check passes.
func (s *session) checksCase(ctx context.Context) bool {
	s.rec.StartCase(reports.Case{ID: ChecksCase, Name: "every check passes", Fault: "none"})
	return s.step(ChecksCase, "no check fails", func() []string {
		start := time.Now()
		findings, msgs := s.sweep(ctx)
		s.rec.Update(ChecksCase, func(rc *reports.Case) {
			rc.Findings = ReportFindings(findings)
			rc.TimeToDetectMS = ptr(time.Since(start).Milliseconds())
		})
		return msgs
	})
}

// trafficCase: real traffic flows on every core path.
func (s *session) trafficCase(ctx context.Context) bool {
	s.rec.StartCase(reports.Case{ID: TrafficCase, Name: "traffic matrix", Fault: "none"})
	return s.step(TrafficCase, "every path carries real traffic", func() []string {
		failed, msgs := s.traffic(ctx, TrafficCase)
		if len(msgs) == 0 && len(failed) > 0 {
			msgs = failed
		}
		return msgs
	})
}

// traffic sends the matrix once and tallies it in caseID ("": not tallied); it returns the
// failing cases, and messages when the matrix could not be sent.
func (s *session) traffic(ctx context.Context, caseID string) (failed, msgs []string) {
	if s.c.Traffic == nil {
		return nil, []string{"no traffic sender: the probe pods are needed"}
	}
	cases, err := traffic.Paths(ctx, s.c.Client, traffic.Options{External: s.c.Traffic.External(), ExternalAddr: s.c.Traffic.ExternalAddr()})
	if err != nil {
		return nil, []string{err.Error()}
	}
	results, err := traffic.Run(ctx, s.c.Traffic, cases)
	if err != nil {
		return nil, []string{err.Error()}
	}
	paths := make([]string, len(cases))
	ok := make([]bool, len(cases))
	for i, tc := range cases {
		paths[i], ok[i] = tc.Path, results[i].OK
		if !results[i].OK {
			failed = append(failed, fmt.Sprintf("%s %s: %s", tc.Path, tc.Name, results[i].Error))
		}
	}
	if caseID != "" {
		s.rec.Update(caseID, func(rc *reports.Case) { rc.Paths = Tally(paths, ok) })
	}
	return failed, nil
}

// ReportFindings converts the doctor's findings for a report.
func ReportFindings(findings []doctor.Finding) []reports.Finding {
	out := make([]reports.Finding, len(findings))
	for i, f := range findings {
		out[i] = reports.Finding{Check: f.Check, Status: string(f.Status), Node: f.Node, Object: f.Object, Summary: f.Summary,
			Path: f.Path, CausedBy: f.CausedBy}
		for _, e := range f.Evidence {
			out[i].Evidence = append(out[i].Evidence, reports.Evidence{Source: e.Source, Output: e.Output})
		}
	}
	return out
}

// Tally counts the traffic cases per path ID that passed (ok) and failed.
func Tally(paths []string, ok []bool) map[string]reports.PathTally {
	tally := map[string]reports.PathTally{}
	for i, p := range paths {
		t := tally[p]
		if ok[i] {
			t.Passed++
		} else {
			t.Failed++
		}
		tally[p] = t
	}
	return tally
}

func ptr[V any](v V) *V { return &v }
