// Package netpol decides whether Kubernetes NetworkPolicies admit a flow between two pods, as
// the API defines them: a pod selected by a policy of a direction is isolated in it, and then
// only what one of those policies' rules admits passes.
package netpol

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Pod is one end of a flow.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	IP              netip.Addr
	// Ports are the pod's named container ports (a policy may name a port).
	Ports map[string]corev1.ContainerPort
}

// Ref is "namespace/name".
func (p Pod) Ref() string { return p.Namespace + "/" + p.Name }

// Flow is traffic from one pod to another's port.
type Flow struct {
	From, To Pod
	Protocol corev1.Protocol
	Port     int32
}

func (f Flow) String() string {
	return fmt.Sprintf("%s → %s %s/%d", f.From.Ref(), f.To.Ref(), f.Protocol, f.Port)
}

// Direction of a policy: the destination's ingress or the source's egress.
type Direction string

const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Peers names a rule's peers in the direction: "from" (ingress) or "to" (egress), as the API does.
func (d Direction) Peers() string {
	if d == Egress {
		return "to"
	}
	return "from"
}

// Denial is why a flow does not pass: the policies that isolate one of its ends in a direction,
// none of whose rules admits it.
type Denial struct {
	Direction Direction
	Policies  []*networkingv1.NetworkPolicy
}

// Cluster holds the policies and the namespaces' labels.
type Cluster struct {
	Policies   []networkingv1.NetworkPolicy
	Namespaces map[string]map[string]string // namespace → its labels
}

// Denials returns why f is denied: none when it passes; one per direction that denies it.
func (c Cluster) Denials(f Flow) ([]Denial, error) {
	var out []Denial
	for _, d := range []struct {
		dir  Direction
		pod  Pod
		peer Pod
		typ  networkingv1.PolicyType
	}{{Ingress, f.To, f.From, networkingv1.PolicyTypeIngress}, {Egress, f.From, f.To, networkingv1.PolicyTypeEgress}} {
		var isolating []*networkingv1.NetworkPolicy
		admitted := false
		for i := range c.Policies {
			p := &c.Policies[i]
			selects, err := selectsPod(p, d.pod)
			if err != nil {
				return nil, err
			}
			if !selects || !hasType(p, d.typ) {
				continue
			}
			isolating = append(isolating, p)
			ok, err := c.admits(p, d.dir, d.peer, f)
			if err != nil {
				return nil, err
			}
			admitted = admitted || ok
		}
		if len(isolating) > 0 && !admitted {
			out = append(out, Denial{Direction: d.dir, Policies: isolating})
		}
	}
	return out, nil
}

// hasType reports whether p applies in direction t: its policyTypes, or by default ingress
// always and egress when it has egress rules.
func hasType(p *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return t == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	for _, pt := range p.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

func selectsPod(p *networkingv1.NetworkPolicy, pod Pod) (bool, error) {
	if p.Namespace != pod.Namespace {
		return false, nil
	}
	return matches(&p.Spec.PodSelector, pod.Labels, p)
}

func matches(sel *metav1.LabelSelector, set map[string]string, p *networkingv1.NetworkPolicy) (bool, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, fmt.Errorf("NetworkPolicy %s/%s: %w", p.Namespace, p.Name, err)
	}
	return s.Matches(labels.Set(set)), nil
}

// rule is one ingress or egress rule: its peers (from or to) and ports.
type rule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

// rules returns p's rules in direction dir.
func rules(p *networkingv1.NetworkPolicy, dir Direction) []rule {
	var out []rule
	if dir == Ingress {
		for _, r := range p.Spec.Ingress {
			out = append(out, rule{r.From, r.Ports})
		}
		return out
	}
	for _, r := range p.Spec.Egress {
		out = append(out, rule{r.To, r.Ports})
	}
	return out
}

// admits reports whether a rule of p in direction dir admits the flow from or to peer.
func (c Cluster) admits(p *networkingv1.NetworkPolicy, dir Direction, peer Pod, f Flow) (bool, error) {
	for _, r := range rules(p, dir) {
		ok, err := c.anyPeer(p, r.peers, peer)
		if err != nil {
			return false, err
		}
		if ok && anyPort(r.ports, f) {
			return true, nil
		}
	}
	return false, nil
}

// anyPeer reports whether peers (none: every peer) hold pod.
func (c Cluster) anyPeer(p *networkingv1.NetworkPolicy, peers []networkingv1.NetworkPolicyPeer, pod Pod) (bool, error) {
	if len(peers) == 0 {
		return true, nil
	}
	for _, peer := range peers {
		ok, err := c.peerHolds(p, peer, pod)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (c Cluster) peerHolds(p *networkingv1.NetworkPolicy, peer networkingv1.NetworkPolicyPeer, pod Pod) (bool, error) {
	if b := peer.IPBlock; b != nil {
		return inBlock(b, pod.IP), nil
	}
	if peer.NamespaceSelector == nil {
		if pod.Namespace != p.Namespace {
			return false, nil
		}
	} else if ok, err := matches(peer.NamespaceSelector, c.Namespaces[pod.Namespace], p); err != nil || !ok {
		return false, err
	}
	if peer.PodSelector == nil {
		return true, nil
	}
	return matches(peer.PodSelector, pod.Labels, p)
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) bool {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !ip.IsValid() || !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(ip) {
			return false
		}
	}
	return true
}

// anyPort reports whether ports (none: every port) hold the flow's protocol and port; a named
// port is the destination pod's.
func anyPort(ports []networkingv1.NetworkPolicyPort, f Flow) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		proto := corev1.ProtocolTCP
		if pp.Protocol != nil {
			proto = *pp.Protocol
		}
		if proto != f.Protocol {
			continue
		}
		if pp.Port == nil {
			return true
		}
		lo := pp.Port.IntVal
		if pp.Port.StrVal != "" {
			cp, ok := f.To.Ports[pp.Port.StrVal]
			if !ok || cp.Protocol != proto && !(cp.Protocol == "" && proto == corev1.ProtocolTCP) {
				continue
			}
			lo = cp.ContainerPort
		}
		hi := lo
		if pp.EndPort != nil && pp.Port.StrVal == "" {
			hi = *pp.EndPort
		}
		if f.Port >= lo && f.Port <= hi {
			return true
		}
	}
	return false
}

// RuleText describes a policy's rules in one direction, for a person.
func RuleText(p *networkingv1.NetworkPolicy, dir Direction) string {
	var parts []string
	for i, r := range rules(p, dir) {
		who := "anywhere"
		if len(r.peers) > 0 {
			var ps []string
			for _, peer := range r.peers {
				ps = append(ps, peerText(peer))
			}
			who = strings.Join(ps, " or ")
		}
		on := "any port"
		if len(r.ports) > 0 {
			var ns []string
			for _, pp := range r.ports {
				ns = append(ns, portText(pp))
			}
			on = strings.Join(ns, ", ")
		}
		parts = append(parts, fmt.Sprintf("rule %d: %s %s on %s", i+1, dir.Peers(), who, on))
	}
	if len(parts) == 0 {
		return "no " + string(dir) + " rule: it admits nothing"
	}
	return strings.Join(parts, "; ")
}

func peerText(peer networkingv1.NetworkPolicyPeer) string {
	var s []string
	if peer.IPBlock != nil {
		t := "ipBlock " + peer.IPBlock.CIDR
		if len(peer.IPBlock.Except) > 0 {
			t += " except " + strings.Join(peer.IPBlock.Except, ",")
		}
		return t
	}
	if peer.NamespaceSelector != nil {
		s = append(s, "namespaces "+selectorText(peer.NamespaceSelector))
	}
	if peer.PodSelector != nil {
		s = append(s, "pods "+selectorText(peer.PodSelector))
	}
	return strings.Join(s, " and ")
}

func selectorText(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "(invalid selector)"
	}
	if t := s.String(); t != "" {
		return t
	}
	return "(all)"
}

func portText(pp networkingv1.NetworkPolicyPort) string {
	proto := "TCP"
	if pp.Protocol != nil {
		proto = string(*pp.Protocol)
	}
	switch {
	case pp.Port == nil:
		return proto + " (any port)"
	case pp.EndPort != nil:
		return fmt.Sprintf("%s/%s-%d", proto, pp.Port.String(), *pp.EndPort)
	}
	return proto + "/" + pp.Port.String()
}
