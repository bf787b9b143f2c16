package certify

import (
	"context"
	"fmt"
	"time"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/traffic"
)

// revertTimeout bounds a fault's revert, also after the run was cancelled.
const revertTimeout = 2 * time.Minute

// newFault builds fault id for node on the cluster's CNI.
func newFault(id, node, cni string) (faults.Fault, error) {
	switch id {
	case "ip-forward-off":
		return faults.IPForwardOff{Node: node}, nil
	case "overlay-port-blocked":
		port := map[string]int{"flannel": 8472, "calico": 4789}[cni]
		if port == 0 {
			return nil, fmt.Errorf("overlay-port-blocked: no overlay port known for CNI %q", cni)
		}
		return faults.OverlayPortBlocked{Node: node, Port: port}, nil
	case "kube-proxy-rules-missing":
		return faults.KubeProxyRulesMissing{Node: node, Service: traffic.Namespace + "/" + traffic.ProbeService}, nil
	}
	return nil, fmt.Errorf("certify cannot inject %q", id)
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
