package certify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/registry"
	"github.com/netcert/netcert/reports"
)

// revertTimeout bounds a fault's revert, also after the run was cancelled.
const revertTimeout = 2 * time.Minute

// newFault builds fault id for node on the cluster's CNI: the registry's first injector of it
// that needs nothing but a node.
func newFault(id, node, cni string) (faults.Fault, error) {
	e, err := registry.Lookup(id)
	if err != nil {
		return nil, err
	}
	for _, in := range e.InjectorsFor(cni) {
		if in.Portable {
			return in.New(registry.Bed{CNI: cni, Node: node})
		}
	}
	return nil, fmt.Errorf("certify cannot inject %s on a %s cluster (it can: %s)", id, cni, strings.Join(Injectable(), ", "))
}

// faultCase injects fault id on the first allowed node, shows that traffic breaks and that the
// doctor names it as the root cause, reverts it, and shows the cluster healthy again. The fault
// is reverted whatever happens (also on cancellation); on a cluster that was not healthy
// before, nothing is injected.
func (s *session) faultCase(ctx context.Context, id string, healthy bool) {
	node := s.opt.Nodes[0]
	s.rec.StartCase(reports.Case{ID: id, Name: id + " on " + node, Fault: id})
	if !s.step(id, "the cluster is healthy before the fault", func() []string {
		if !healthy {
			return []string{"a check or a path failed before any fault: netcert injects nothing into a cluster it could not tell apart from the fault"}
		}
		return nil
	}) {
		return
	}
	f, err := newFault(id, node, s.c.CNI)
	var revert faults.Revert
	if !s.step(id, "inject "+id+" on "+node, func() []string {
		if err == nil {
			revert, err = f.Inject(ctx, s.fc)
		}
		if err != nil {
			return []string{err.Error()}
		}
		s.logf("injected %s on %s", id, node)
		return nil
	}) {
		return
	}
	reverted := false
	undo := func() []string {
		if reverted {
			return nil
		}
		reverted = true
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revertTimeout)
		defer cancel()
		if err := revert(rctx); err != nil {
			return []string{err.Error()}
		}
		s.logf("reverted %s on %s", id, node)
		return nil
	}
	defer undo()
	s.step(id, "the symptom is real: traffic fails", func() []string {
		failed, msgs := s.traffic(ctx, id)
		if len(msgs) == 0 && len(failed) == 0 {
			msgs = []string{"every path still carries traffic with the fault in place"}
		}
		return msgs
	})
	s.step(id, "detection: the doctor names "+id+" as the root cause", func() []string {
		start := time.Now()
		findings, _ := s.sweep(ctx)
		s.rec.Update(id, func(rc *reports.Case) {
			rc.Findings = ReportFindings(findings)
			rc.TimeToDetectMS = ptr(time.Since(start).Milliseconds())
		})
		for _, root := range doctor.RootCauses(findings) {
			if root.Check == id {
				return nil
			}
		}
		return []string{fmt.Sprintf("no root cause %s among %d finding(s)", id, len(findings))}
	})
	s.step(id, "revert "+id, undo)
	s.step(id, "verify: every check passes and real traffic flows again", func() []string {
		_, msgs := s.sweep(ctx)
		failed, tmsgs := s.traffic(ctx, "") // the case's tally is of the traffic the fault broke
		return append(append(msgs, tmsgs...), failed...)
	})
}
