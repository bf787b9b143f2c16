package doctor

import (
	"fmt"
	"strings"

	"github.com/netcert/netcert/traffic"
)

// Status is a finding's verdict.
type Status string

// The verdicts. NotApplicable is for a check that does not apply to this cluster (e.g. a Flannel
// check on a Calico cluster): it is neither a pass nor a problem.
const (
	Pass          Status = "Pass"
	Warn          Status = "Warn"
	Fail          Status = "Fail"
	NotApplicable Status = "NotApplicable"
)

// Evidence is one thing a check read: the command or API call, and what came back.
type Evidence struct {
	Source string `json:"source"` // e.g. "kind-worker$ sysctl -n net.ipv4.ip_forward" or "GET configmap kube-system/coredns"
	Output string `json:"output"`
}

// Finding is a check's verdict about one node or object.
type Finding struct {
	Check    string     `json:"check"`            // the check's kebab-case ID
	Node     string     `json:"node,omitempty"`   // the node it is about, if any
	Object   string     `json:"object,omitempty"` // the API object or range it is about, if any
	Status   Status     `json:"status"`
	Summary  string     `json:"summary"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Path is the traffic path the finding is about, by its stable ID (traffic.PodToPodCrossNode, …).
	Path string `json:"path,omitempty"`
	// Crosses names the nodes that the finding's failing traffic crossed: a node-level cause on
	// one of them explains it.
	Crosses []string `json:"crosses,omitempty"`
	// Services names the Services ("namespace/name") that the finding's failing traffic went
	// through, or, for a node-level cause, the Services it breaks there.
	Services []string `json:"services,omitempty"`
	// Endpoints are the addresses the finding's failing traffic went between: a cause that breaks
	// a range holding one of them explains it.
	Endpoints []string `json:"endpoints,omitempty"`
	// Ranges are, for a cause that is not one node's (an IP pool over the node network), the
	// address ranges (CIDRs) whose traffic it breaks.
	Ranges []string `json:"ranges,omitempty"`
	// CausedBy is set on a consequence: the Ref of the root-cause finding that explains it. A
	// finding with CausedBy is not a root cause and is not repaired on its own.
	CausedBy string `json:"caused_by,omitempty"`
	// sent is, on a traffic-path-broken Fail, the case that failed: Conclude sends it again.
	sent *traffic.Case
}

// Ref names the finding stably in a sweep: its check and where ("ip-forward-off kind-worker").
func (f Finding) Ref() string {
	return strings.TrimSpace(f.Check + " " + f.Where())
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s [%s]: %s", f.Status, f.Check, f.Where(), f.Summary)
	if f.CausedBy != "" {
		s += " (caused by " + f.CausedBy + ")"
	}
	return s
}

// Where names the node and the object the finding is about ("" for neither).
func (f Finding) Where() string {
	return strings.TrimSpace(f.Node + " " + f.Object)
}

// Failed returns the findings with status Fail.
func Failed(findings []Finding) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Status == Fail {
			out = append(out, f)
		}
	}
	return out
}
