package testbed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/traffic"
)

// DetectDeadline bounds how long the doctor may take to name an injected fault.
const DetectDeadline = 90 * time.Second

// Scenario is one fault's proof on a live cluster.
type Scenario struct {
	ID      string // the fault's ID
	Variant string // tells apart features of one fault (e.g. its shape): labelled variant=<Variant>
	// Fault returns the fault to inject, built when the feature injects it: it may depend on
	// what the test bed picked at run time (an address of the node network).
	Fault   func(ctx context.Context, cfg *envconf.Config) (faults.Fault, error)
	Problem doctor.Problem // the check and repair with the fault's ID
	// NewPodFails: the symptom is that a new pod on the broken node does not start (and after the
	// repair it does).
	NewPodFails bool
	// Breaks reports whether the fault must break a traffic case (nil: none, with NewPodFails); the symptom step requires at
	// least one such case and that every one of them fails.
	Breaks func(TrafficCase) bool
	// Consequences are checks that must fail as consequences of the fault (CausedBy naming it):
	// the symptoms of a cascade that the doctor must mark, not name as second root causes.
	Consequences []string
	// Manual: the repair is a manual plan; the repair step checks it and that netcert refuses
	// to apply it, then takes its steps as a person would, by reverting the fault.
	Manual bool
}

// checks are every check of the doctor: in every scenario, no other one may fail.
var checks = doctor.Checks(doctor.Problems())

// stateChecks are the checks but traffic-path-broken: the baseline and verify steps follow them
// with the whole traffic matrix (requireTrafficHealthy: the core paths traffic-path-broken sends,
// DNS and the node-network host too), so the core paths are not sent twice.
var stateChecks = slices.DeleteFunc(slices.Clone(checks), func(ch doctor.Check) bool { return ch.ID() == doctor.TrafficPathBroken{}.ID() })

// Feature returns the e2e-framework feature, labelled fault=<id>: baseline healthy, inject (the
// revert registered with t.Cleanup), the symptom is real, detection names exactly this ID,
// repair, and real traffic proves the cluster healthy again.
func (c *Cluster) Feature(s Scenario) features.Feature {
	id := s.ID
	rc := caseOf(id, s.Variant)
	caseID := rc.ID
	step := func(stepName string, fn StepFunc) (string, features.Func) { return c.Step(caseID, stepName, fn) }
	var dc *doctor.Cluster
	var fc *faults.Cluster
	var detected []doctor.Finding
	var featureT *testing.T // each assessment runs in a subtest: reverts belong to the feature
	var revertOnce func() error
	return c.NewFeature(rc).WithSetup("connect to the cluster", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		var err error
		dc, fc, err = c.Targets(cfg)
		require.NoError(t, err)
		featureT = t
		return ctx
	}).
		Assess(step("baseline: every check passes and the traffic matrix is healthy", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			c.requireHealthy(ctx, t, cfg, dc)
			// The one write of the doctor, explicit: the healthy Corefile that coredns-forward-broken's
			// repair falls back on.
			kept, did, err := doctor.SnapshotCorefile(ctx, dc, doctor.CoreDNSForwardBroken{})
			require.NoError(t, err)
			require.True(t, kept, "the healthy baseline's Corefile: %s", did)
			return ctx
		})).
		Assess(step("inject "+id, func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			fault, err := s.Fault(ctx, cfg)
			require.NoError(t, err, "prepare %s", id)
			require.Equal(t, id, fault.Name())
			require.True(t, fault.AppliesTo(c.cfg.CNI), "%s does not apply to %s", id, c.cfg.CNI)
			revert, err := fault.Inject(ctx, fc)
			require.NoError(t, err)
			// Registered on the feature, so the fault stays for the next steps and is reverted when
			// the feature ends, whatever happens in between; a manual repair reverts it earlier.
			revertOnce = sync.OnceValue(func() error {
				rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				return revert(rctx)
			})
			featureT.Cleanup(func() { assert.NoError(featureT, revertOnce(), "revert %s", id) })
			return ctx
		})).
		Assess(step(symptomStep(s), func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			if s.NewPodFails {
				c.requireNewPodFails(ctx, t, cfg, c.brokenNode())
			}
			if s.Breaks == nil {
				return ctx
			}
			cases, results := c.runTraffic(ctx, t, cfg)
			c.recordPaths(caseID, cases, results)
			broken := 0
			for i, tc := range cases {
				if s.Breaks(tc) {
					broken++
					assert.False(t, results[i].OK, "%s should fail under %s", tc.Name, id)
				}
			}
			require.Positive(t, broken, "the scenario names no traffic that %s breaks", id)
			return ctx
		})).
		Assess(step("detection: the doctor names exactly "+id+" as the root cause", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			start := time.Now()
			var failed []doctor.Finding
			var runs []doctor.Result
			for time.Since(start) < DetectDeadline {
				findings, results, err := doctor.SweepEach(ctx, dc, checks)
				require.NoError(t, err)
				failed, runs = doctor.Failed(findings), results
				if len(failed) > 0 {
					break
				}
				time.Sleep(2 * time.Second)
			}
			if len(failed) == 0 && s.Breaks != nil && c.symptomGone(ctx, t, cfg, s.Breaks) {
				c.rec.Update(caseID, func(rc *reports.Case) { rc.HealedByCNI = true })
				require.Fail(t, fmt.Sprintf("the CNI healed %s on its own before the doctor named it: the traffic it broke flowed again", id))
			}
			require.NotEmpty(t, failed, "no Fail finding within %s", DetectDeadline)
			c.RecordDetection(caseID, time.Since(start), failed)
			roots := doctor.RootCauses(failed)
			require.NotEmpty(t, roots, "every failure is a consequence: %v", failed)
			for _, f := range failed {
				assert.NotEmpty(t, f.Evidence, "a finding without evidence: %s", f)
				if f.CausedBy == "" {
					assert.Equal(t, id, f.Check, "unexpected root cause: %s", f)
				} else {
					assert.True(t, strings.HasPrefix(f.CausedBy, id+" "), "a consequence of another cause: %s", f)
				}
			}
			for _, check := range s.Consequences {
				assert.True(t, slices.ContainsFunc(failed, func(f doctor.Finding) bool { return f.Check == check && f.CausedBy != "" }),
					"%s should fail as a consequence of %s: %v", check, id, failed)
			}
			detected = roots
			c.cfg.Logf("%s detected in %s: %s (%d consequence(s) marked; slowest checks: %s)", id, since(start), roots[0], len(failed)-len(roots), doctor.Slowest(runs, 3))
			return ctx
		})).
		Assess(step(repairStep(s.Manual), func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			start := time.Now()
			plan, err := s.Problem.Plan(ctx, dc, detected)
			require.NoError(t, err)
			if s.Manual {
				requireManualPlan(ctx, t, dc, s.Problem, plan)
				c.rec.Update(caseID, func(rc *reports.Case) { rc.ManualRepair = true })
				c.cfg.Logf("%s: manual plan: %s", id, strings.Join(plan.Manual, " | "))
				require.NoError(t, revertOnce(), "take the manual plan's steps: revert %s", id)
				return ctx
			}
			require.NotEmpty(t, plan.Actions, "the plan repairs nothing")
			require.Empty(t, plan.Manual)
			rec, err := s.Problem.Apply(ctx, dc, plan)
			require.NoError(t, err)
			require.Len(t, rec.Steps, len(plan.Actions))
			repairedIn := time.Since(start)
			c.rec.Update(caseID, func(rc *reports.Case) { rc.TimeToRepairMS = ptr(repairedIn.Milliseconds()) })
			c.cfg.Logf("%s repaired in %s (%d actions)", id, since(start), len(plan.Actions))
			again, err := s.Problem.Apply(ctx, dc, plan)
			require.NoError(t, err, "applying the plan a second time")
			for _, step := range again.Steps {
				assert.False(t, step.Changed, "the second apply changed %s again", step.Action.Summary)
			}
			return ctx
		})).
		Assess(step("verify: every check passes and real traffic flows again", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			c.requireHealthy(ctx, t, cfg, dc)
			if s.NewPodFails {
				c.requireNewPodStarts(ctx, t, cfg, c.brokenNode())
			}
			return ctx
		})).Feature()
}

// symptomStep names the symptom step: traffic that fails, a new pod that does not start.
func symptomStep(s Scenario) string {
	switch {
	case s.NewPodFails && s.Breaks == nil:
		return "the symptom is real: a new pod on the broken node does not start"
	case s.NewPodFails:
		return "the symptom is real: a new pod on the broken node does not start, and the traffic this fault breaks fails"
	}
	return "the symptom is real: the traffic this fault breaks fails"
}

// repairStep names the repair step: netcert's repair, or a person's steps from a manual plan.
func repairStep(manual bool) string {
	if manual {
		return "repair: a manual plan, refused by apply; a person's steps taken (the fault reverted)"
	}
	return "repair: plan, apply, and apply again to change nothing"
}

// requireManualPlan requires a plan of steps for a person only, which netcert refuses to apply.
func requireManualPlan(ctx context.Context, t T, dc *doctor.Cluster, p doctor.Problem, plan doctor.Plan) {
	t.Helper()
	require.NotEmpty(t, plan.Manual, "a manual repair names its steps")
	require.Empty(t, plan.Actions, "a manual repair changes nothing itself")
	_, err := p.Apply(ctx, dc, plan)
	require.Error(t, err, "apply refuses a manual plan")
}

// symptomGone runs the traffic matrix again and reports whether every case the fault broke
// passes now.
func (c *Cluster) symptomGone(ctx context.Context, t T, cfg *envconf.Config, breaks func(TrafficCase) bool) bool {
	cases, results := c.runTraffic(ctx, t, cfg)
	for i, tc := range cases {
		if breaks(tc) && !results[i].OK {
			return false
		}
	}
	return true
}

// HealthyFeature checks a healthy cluster: every check Pass (or NotApplicable), no Warn or Fail
// anywhere, every repair's plan empty, and every node's netfilter rules, sysctls and sysctl files
// as they were before the checks ran (diagnosis is read-only).
func (c *Cluster) HealthyFeature(problems []doctor.Problem) features.Feature {
	const caseID = "healthy-cluster"
	return c.NewFeature(reports.Case{ID: caseID, Name: "healthy cluster", Fault: "none"}).
		Assess(c.Step(caseID, "no check fires and no repair plans anything", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			dc, _, err := c.Targets(cfg)
			require.NoError(t, err)
			before, err := nodeState(ctx, dc.Nodes)
			require.NoError(t, err)
			start := time.Now()
			findings, runs, err := doctor.SweepEach(ctx, dc, checks)
			requireNoProblemIn(t, findings, err)
			sweep := time.Since(start)
			c.rec.Update(caseID, func(rc *reports.Case) { rc.SweepMS = ptr(sweep.Milliseconds()) })
			c.cfg.Logf("a whole sweep of the healthy cluster (%d checks, real traffic included) in %s; slowest checks: %s",
				len(checks), sweep.Round(100*time.Millisecond), doctor.Slowest(runs, 3))
			swept := map[string][]doctor.Finding{}
			for _, r := range runs {
				swept[r.Check] = r.Findings
			}
			for _, p := range problems {
				findings, ok := swept[p.ID()]
				if !ok { // a problem the sweep's checks leave out
					findings, err = p.Run(ctx, dc)
					require.NoError(t, err, p.ID())
				}
				require.NotEmpty(t, findings, "%s looked at nothing", p.ID())
				for _, f := range findings {
					assert.Contains(t, []doctor.Status{doctor.Pass, doctor.NotApplicable}, f.Status, "%s", f)
				}
				plan, err := p.Plan(ctx, dc, findings)
				require.NoError(t, err)
				assert.True(t, plan.Empty(), "%s plans %+v on a healthy cluster", p.ID(), plan)
			}
			after, err := nodeState(ctx, dc.Nodes)
			require.NoError(t, err)
			for name, state := range before {
				assert.Equal(t, state, after[name], "diagnosis is read-only: %s's netfilter rules, sysctls and sysctl files are as before", name)
			}
			c.requireTrafficHealthy(ctx, t, cfg)
			return ctx
		})).Feature()
}

// requireNoProblemIn requires a sweep that evaluated, with no Fail and no Warn.
func requireNoProblemIn(t T, findings []doctor.Finding, err error) {
	t.Helper()
	require.NoError(t, err)
	for _, f := range findings {
		require.NotEqual(t, doctor.Fail, f.Status, "%s", f)
		require.NotEqual(t, doctor.Warn, f.Status, "%s", f)
	}
}

// requireHealthy requires every check but traffic-path-broken to pass while the whole traffic
// matrix flows: the two at once, as neither writes.
func (c *Cluster) requireHealthy(ctx context.Context, t T, cfg *envconf.Config, dc *doctor.Cluster) {
	t.Helper()
	var findings []doctor.Finding
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		findings, err = doctor.Diagnose(ctx, dc, stateChecks)
	}()
	c.requireTrafficHealthy(ctx, t, cfg)
	<-done
	requireNoProblemIn(t, findings, err)
}

// runTraffic runs the whole traffic matrix once.
func (c *Cluster) runTraffic(ctx context.Context, t T, cfg *envconf.Config) ([]TrafficCase, []traffic.Result) {
	t.Helper()
	cases, err := TrafficMatrix(ctx, cfg)
	require.NoError(t, err)
	prober, err := c.Prober(cfg)
	require.NoError(t, err)
	results, err := traffic.Run(ctx, prober, cases)
	require.NoError(t, err)
	return cases, results
}

// requireTrafficHealthy requires every traffic case to pass, allowing the CNI a short while to
// settle after a repair.
func (c *Cluster) requireTrafficHealthy(ctx context.Context, t T, cfg *envconf.Config) {
	t.Helper()
	var failed []string
	for attempt := 0; attempt < 10; attempt++ {
		cases, results := c.runTraffic(ctx, t, cfg)
		failed = failed[:0]
		for i, tc := range cases {
			if !results[i].OK {
				failed = append(failed, fmt.Sprintf("%s %s: %s", tc.Path, tc.Name, results[i].Error))
			}
		}
		if len(failed) == 0 {
			return
		}
		c.cfg.Logf("traffic not healthy yet (attempt %d): %d case(s) fail, first %s; again in 3s", attempt+1, len(failed), failed[0])
		time.Sleep(3 * time.Second)
	}
	require.Empty(t, failed, "traffic still fails")
}
