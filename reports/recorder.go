package reports

import (
	"sync"
	"time"
)

// Recorder collects one suite run as it happens; it is safe for concurrent use.
type Recorder struct {
	mu          sync.Mutex
	run         Run
	interrupted bool
}

// NewRecorder starts recording a run of suite on cni.
func NewRecorder(suite, cni string) *Recorder {
	return &Recorder{run: Run{Suite: suite, CNI: cni, Started: time.Now().UTC(), Cases: map[string]Case{},
		Environment:    Environment{CNI: cni},
		Infrastructure: Step{Name: "create the cluster and wait until it is ready", Outcome: Skipped}}}
}

// SetEnvironment records what the run runs on.
func (r *Recorder) SetEnvironment(env Environment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run.Environment = env
}

// Infrastructure records how bringing up the cluster went; a non-nil err fails the run as an
// infrastructure failure.
func (r *Recorder) Infrastructure(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run.Infrastructure.DurationMS, r.run.Infrastructure.Outcome = ms(d), Passed
	if err != nil {
		r.run.Infrastructure.Outcome = Failed
		r.run.Infrastructure.Messages = append(r.run.Infrastructure.Messages, err.Error())
	}
}

// Interrupted marks the run as ended by a signal or the test timeout.
func (r *Recorder) Interrupted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interrupted = true
}

// StartCase records that a case began; ID, Name and Fault identify it.
func (r *Recorder) StartCase(c Case) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Outcome = Skipped
	r.run.Cases[c.ID] = c
}

// Step records one finished step of a case.
func (r *Recorder) Step(caseID string, s Step) {
	r.Update(caseID, func(c *Case) {
		c.Steps = append(c.Steps, s)
		c.DurationMS += s.DurationMS
		switch {
		case s.Outcome == Failed:
			c.Outcome = Failed
		case s.Outcome == Passed && c.Outcome == Skipped:
			c.Outcome = Passed
		}
	})
}

// Update changes a started case (findings, times to detect and repair, healed).
func (r *Recorder) Update(caseID string, f func(*Case)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.run.Cases[caseID]
	if !ok {
		c = Case{ID: caseID, Name: caseID, Fault: caseID, Outcome: Skipped}
	}
	f(&c)
	r.run.Cases[caseID] = c
}

// Run returns the run as recorded so far, with its status.
func (r *Recorder) Run() Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.run
	run.Cases = make(map[string]Case, len(r.run.Cases))
	failed, ran := false, false
	for id, c := range r.run.Cases {
		run.Cases[id] = c
		failed = failed || c.Outcome == Failed
		ran = ran || c.Outcome != Skipped
	}
	run.DurationMS = ms(time.Since(run.Started))
	switch {
	case run.Infrastructure.Outcome == Failed:
		run.Status = StatusInfraFailed
	case r.interrupted:
		run.Status = StatusInterrupted
	case failed:
		run.Status = StatusFailed
	case !ran:
		run.Status = StatusEmpty
	default:
		run.Status = StatusPassed
	}
	return run
}

// Report returns a report of this run alone.
func (r *Recorder) Report() Report {
	return Report{Schema: Schema, Generated: time.Now().UTC(), Runs: []Run{r.Run()}}
}
