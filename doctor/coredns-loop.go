package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/corefile"
)

// CoreDNSLoop is the check and repair for coredns-loop: CoreDNS forwards to itself (its own
// Service, one of its pods, or a loopback address, where the pod's own CoreDNS listens). Every
// query it cannot answer comes back to it; the loop plugin sees its probe return and stops
// CoreDNS, so its pods crash-loop and no name resolves. The finding names the target, why it is
// CoreDNS, and the pods' state. The repair is coredns-forward-broken's: the targets of the last
// known-good Corefile (or Upstream) in place of the looping ones, and CoreDNS rolled. Its fields
// are CoreDNSForwardBroken's, which it converts to.
type CoreDNSLoop struct {
	// QueryName and Upstream are as for CoreDNSForwardBroken: the name the repair verifies with,
	// and the upstream it puts in place (empty: the last known-good Corefile's).
	QueryName, Upstream string
	// RolloutTimeout and PollInterval bound and pace the wait for CoreDNS's rollout.
	RolloutTimeout, PollInterval time.Duration
}

// ID returns "coredns-loop".
func (CoreDNSLoop) ID() string { return "coredns-loop" }

// corednsSelf says whether a forward target is CoreDNS itself, and which part of it.
type corednsSelf struct {
	addrs map[netip.Addr]string // the kube-dns Service's cluster IPs and CoreDNS's pod IPs → what they are
	pods  []corev1.Pod
	ev    Evidence
}

// readCoreDNSSelf reads CoreDNS's Service and pods.
func readCoreDNSSelf(ctx context.Context, c *Cluster) (*corednsSelf, error) {
	s := &corednsSelf{addrs: map[netip.Addr]string{}, ev: Evidence{Source: "GET services,pods -n " + kube.CoreDNSNamespace + " -l " + kube.CoreDNSSelector}}
	svcs, err := c.Client.CoreV1().Services(kube.CoreDNSNamespace).List(ctx, metav1.ListOptions{LabelSelector: kube.CoreDNSSelector})
	if err != nil {
		return nil, fmt.Errorf("read CoreDNS's Service: %w", err)
	}
	var lines []string
	for _, svc := range svcs.Items {
		for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil {
				s.addrs[a] = "its own Service " + svc.Namespace + "/" + svc.Name
			}
		}
		lines = append(lines, fmt.Sprintf("service %s/%s %s", svc.Namespace, svc.Name, svc.Spec.ClusterIP))
	}
	pods, err := c.Client.CoreV1().Pods(kube.CoreDNSNamespace).List(ctx, metav1.ListOptions{LabelSelector: kube.CoreDNSSelector})
	if err != nil {
		return nil, fmt.Errorf("read CoreDNS's pods: %w", err)
	}
	s.pods = pods.Items
	for _, p := range pods.Items {
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			s.addrs[a] = "its own pod " + p.Name
		}
		lines = append(lines, "pod "+p.Name+" "+p.Status.PodIP+": "+podState(p))
	}
	s.ev.Output = strings.Join(lines, "\n")
	return s, nil
}

// is says what of CoreDNS a target is ("" when none): DNS on port 53 at its Service, a pod of
// it, or a loopback address (the pod's own CoreDNS listens there).
func (s *corednsSelf) is(t corefile.Target) string {
	ap, err := netip.ParseAddrPort(t.Address)
	if err != nil || t.Transport != "dns" || ap.Port() != 53 {
		return ""
	}
	if ap.Addr().IsLoopback() {
		return "a loopback address, where the CoreDNS pod itself listens"
	}
	return s.addrs[ap.Addr().Unmap()]
}

// state says how CoreDNS's pods are doing, for the finding.
func (s *corednsSelf) state() string {
	var out []string
	for _, p := range s.pods {
		out = append(out, p.Name+": "+podState(p))
	}
	if len(out) == 0 {
		return "no CoreDNS pod runs"
	}
	return strings.Join(out, "; ")
}

// podState is a pod's phase, or its first container's waiting reason, with its restarts.
func podState(p corev1.Pod) string {
	if len(p.Status.ContainerStatuses) == 0 {
		return string(p.Status.Phase)
	}
	cs := p.Status.ContainerStatuses[0]
	state := "running"
	if cs.State.Waiting != nil {
		state = cs.State.Waiting.Reason
	} else if !cs.Ready {
		state = "not ready"
	}
	return fmt.Sprintf("%s, %d restart(s)", state, cs.RestartCount)
}

// Run reads the Corefile and CoreDNS's own addresses; a forward target that is CoreDNS fails.
func (p CoreDNSLoop) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	cf, read, self, err := readCorefileAndSelf(ctx, c, p.ID())
	if err != nil {
		return nil, err
	}
	var findings []Finding
	for _, u := range targetUses(cf) {
		is := self.is(u.target)
		if is == "" {
			continue
		}
		f, what := forwardFinding(p.ID(), u, cf, read)
		f.Status, f.Evidence = Fail, append(f.Evidence, self.ev)
		f.Summary = fmt.Sprintf("%s, which is CoreDNS itself (%s): every query it cannot answer comes back to it, and the loop plugin stops CoreDNS when it sees that (%s)",
			what, is, self.state())
		findings = append(findings, f)
	}
	if len(findings) == 0 {
		findings = append(findings, Finding{Check: p.ID(), Object: corednsObject, Status: Pass, Evidence: []Evidence{read, self.ev},
			Summary: fmt.Sprintf("no forward target is CoreDNS itself (%d target(s))", len(targetUses(cf)))})
	}
	return findings, nil
}

// forwardRepair is coredns-forward-broken's repair, which coredns-loop's is.
func (p CoreDNSLoop) forwardRepair() CoreDNSForwardBroken {
	return CoreDNSForwardBroken(p)
}

// Plan puts the targets of the last known-good Corefile (or Upstream) in place of the looping
// ones: coredns-forward-broken's plan for those targets.
func (p CoreDNSLoop) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	var looping []Finding
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		f.Check = p.forwardRepair().ID()
		looping = append(looping, f)
	}
	plan, err := p.forwardRepair().Plan(ctx, c, looping)
	plan.Check = p.ID()
	return plan, err
}

// Apply writes the planned Corefile, rolls CoreDNS and verifies every forward target answers.
func (p CoreDNSLoop) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return p.forwardRepair().Apply(ctx, c, plan)
}
