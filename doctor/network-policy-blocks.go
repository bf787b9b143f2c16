package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor/internal/netpol"
	"github.com/netcert/netcert/traffic"
)

// NetworkPolicyBlocks is the check for network-policy-blocks: a NetworkPolicy that denies a
// flow netcert's probes need (the pod-to-pod and pod-to-Service cases of the traffic matrix),
// named with the policies that isolate the pod and their rules, none of which admits the flow.
// The repair is a manual plan: only a person knows whether the policy or the flow is wrong.
// Flannel enforces no NetworkPolicy: there the check says so, a fact of the certification.
type NetworkPolicyBlocks struct{}

// ID returns "network-policy-blocks".
func (NetworkPolicyBlocks) ID() string { return "network-policy-blocks" }

// policyBlock is the flows one direction of a set of policies denies.
type policyBlock struct {
	dir      netpol.Direction
	policies []*networkingv1.NetworkPolicy
	flows    []netpol.Flow
	services []string
}

func (b policyBlock) refs() []string {
	var out []string
	for _, p := range b.policies {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

// isolated returns the pods the policies isolate: the flows' destinations for ingress, their
// sources for egress.
func (b policyBlock) isolated() []netpol.Pod {
	var out []netpol.Pod
	for _, f := range b.flows {
		p := f.To
		if b.dir == netpol.Egress {
			p = f.From
		}
		if !slices.ContainsFunc(out, func(q netpol.Pod) bool { return q.Ref() == p.Ref() }) {
			out = append(out, p)
		}
	}
	return out
}

// notEnforcedBy are the CNIs that do not enforce NetworkPolicies.
var notEnforcedBy = map[string]bool{"flannel": true}

// Run evaluates every NetworkPolicy against the flows of the probes' traffic matrix.
func (p NetworkPolicyBlocks) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("%s: needs the Kubernetes API", p.ID())
	}
	list, err := c.Client.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: list NetworkPolicies: %w", p.ID(), err)
	}
	ev := Evidence{Source: "LIST networkpolicies (all namespaces)", Output: policyNames(list.Items)}
	if notEnforcedBy[c.CNI] {
		f := Finding{Check: p.ID(), Status: Pass, Evidence: []Evidence{ev},
			Summary: fmt.Sprintf("%s does not enforce NetworkPolicies, and none exists", c.CNI)}
		if len(list.Items) > 0 {
			f.Status = Warn
			f.Summary = fmt.Sprintf("%s does not enforce NetworkPolicies: the %d that exist isolate nothing (%s)", c.CNI, len(list.Items), ev.Output)
		}
		return []Finding{f}, nil
	}
	if len(list.Items) == 0 {
		return []Finding{{Check: p.ID(), Status: Pass, Summary: "no NetworkPolicy: every pod is open", Evidence: []Evidence{ev}}}, nil
	}
	blocks, flows, err := evaluatePolicies(ctx, c, list.Items)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	if len(blocks) == 0 {
		return []Finding{{Check: p.ID(), Status: Pass, Evidence: []Evidence{ev},
			Summary: fmt.Sprintf("%d NetworkPolicies admit every one of the probes' %d flows", len(list.Items), flows)}}, nil
	}
	var out []Finding
	for _, b := range blocks {
		out = append(out, b.finding(p.ID(), ev))
	}
	return out, nil
}

func (b policyBlock) finding(check string, ev Evidence) Finding {
	var isolated, ranges, flows, rules []string
	for _, pod := range b.isolated() {
		isolated = append(isolated, pod.Ref())
		ranges = append(ranges, netip.PrefixFrom(pod.IP, pod.IP.BitLen()).String())
	}
	for _, f := range b.flows {
		flows = append(flows, f.String())
	}
	for _, pol := range b.policies {
		rules = append(rules, fmt.Sprintf("%s/%s: %s", pol.Namespace, pol.Name, netpol.RuleText(pol, b.dir)))
	}
	slices.Sort(flows)
	return Finding{Check: check, Status: Fail, Object: "networkpolicy/" + strings.Join(b.refs(), ","),
		Ranges: ranges, Services: b.services,
		Summary: fmt.Sprintf("NetworkPolicy %s isolates %s for %s and no rule admits %d flow(s) netcert's probes need (%s); its rules: %s",
			strings.Join(b.refs(), ", "), strings.Join(isolated, ", "), b.dir, len(flows), strings.Join(flows, ", "), strings.Join(rules, " | ")),
		Evidence: []Evidence{ev}}
}

func policyNames(items []networkingv1.NetworkPolicy) string {
	var names []string
	for _, p := range items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// evaluatePolicies returns what the policies deny of the probes' flows, grouped by direction
// and isolating policies, and how many flows it evaluated.
func evaluatePolicies(ctx context.Context, c *Cluster, policies []networkingv1.NetworkPolicy) ([]policyBlock, int, error) {
	cases, err := traffic.Paths(ctx, c.Client, traffic.Options{})
	if err != nil {
		return nil, 0, err
	}
	nsList, err := c.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("list namespaces: %w", err)
	}
	cl := netpol.Cluster{Policies: policies, Namespaces: map[string]map[string]string{}}
	for _, ns := range nsList.Items {
		cl.Namespaces[ns.Name] = ns.Labels
	}
	r, err := newFlowResolver(ctx, c)
	if err != nil {
		return nil, 0, err
	}
	var blocks []policyBlock
	evaluated := 0
	for _, tc := range cases {
		flows, err := r.flows(ctx, tc)
		if err != nil {
			return nil, 0, err
		}
		for _, f := range flows {
			evaluated++
			denials, err := cl.Denials(f)
			if err != nil {
				return nil, 0, err
			}
			for _, d := range denials {
				blocks = addDenial(blocks, d, f, tc.Service)
			}
		}
	}
	return blocks, evaluated, nil
}

func addDenial(blocks []policyBlock, d netpol.Denial, f netpol.Flow, service string) []policyBlock {
	key := policyBlock{dir: d.Direction, policies: d.Policies}.refs()
	i := slices.IndexFunc(blocks, func(b policyBlock) bool { return b.dir == d.Direction && slices.Equal(b.refs(), key) })
	if i < 0 {
		blocks = append(blocks, policyBlock{dir: d.Direction, policies: d.Policies})
		i = len(blocks) - 1
	}
	if !slices.ContainsFunc(blocks[i].flows, func(g netpol.Flow) bool { return g.String() == f.String() }) {
		blocks[i].flows = append(blocks[i].flows, f)
	}
	if service != "" && !slices.Contains(blocks[i].services, service) {
		blocks[i].services = append(blocks[i].services, service)
	}
	return blocks
}

// flowResolver turns traffic cases into pod-to-pod flows: a Service's case into one flow per
// ready endpoint. Every sender's case reaches the same Services: each Service port's endpoints
// are read once.
type flowResolver struct {
	c         *Cluster
	pods      map[string]netpol.Pod        // by IP
	endpoints map[string][]serviceEndpoint // by "namespace/name proto/port"
}

// serviceEndpoint is a ready endpoint of a Service port: the pod and its target port.
type serviceEndpoint struct {
	pod  netpol.Pod
	port int32
}

func newFlowResolver(ctx context.Context, c *Cluster) (*flowResolver, error) {
	list, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	r := &flowResolver{c: c, pods: map[string]netpol.Pod{}, endpoints: map[string][]serviceEndpoint{}}
	for _, p := range list.Items {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || p.Spec.HostNetwork {
			continue
		}
		pod := netpol.Pod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, IP: ip, Ports: map[string]corev1.ContainerPort{}}
		for _, ct := range p.Spec.Containers {
			for _, cp := range ct.Ports {
				if cp.Name != "" {
					pod.Ports[cp.Name] = cp
				}
			}
		}
		r.pods[ip.String()] = pod
	}
	return r, nil
}

// flows returns the pod-to-pod flows of a case; none for cases inside one pod or from outside.
func (r *flowResolver) flows(ctx context.Context, tc traffic.Case) ([]netpol.Flow, error) {
	from, ok := r.pods[tc.From.IP]
	if tc.External || !ok || tc.Path == traffic.ContainerToContainer {
		return nil, nil
	}
	proto, host, port, err := caseTarget(tc)
	if err != nil {
		return nil, err
	}
	if tc.Service == "" {
		if to, ok := r.pods[host]; ok {
			return []netpol.Flow{{From: from, To: to, Protocol: proto, Port: port}}, nil
		}
		return nil, nil
	}
	eps, err := r.serviceEndpoints(ctx, tc.Service, proto, port)
	if err != nil {
		return nil, err
	}
	var out []netpol.Flow
	for _, e := range eps {
		out = append(out, netpol.Flow{From: from, To: e.pod, Protocol: proto, Port: e.port})
	}
	return out, nil
}

// serviceEndpoints returns the ready endpoints of the Service's port, read once.
func (r *flowResolver) serviceEndpoints(ctx context.Context, service string, proto corev1.Protocol, port int32) ([]serviceEndpoint, error) {
	key := fmt.Sprintf("%s %s/%d", service, proto, port)
	if eps, ok := r.endpoints[key]; ok {
		return eps, nil
	}
	ns, name, _ := strings.Cut(service, "/")
	svc, err := r.c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read Service %s: %w", service, err)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port && p.Protocol == proto })
	if i < 0 {
		r.endpoints[key] = nil
		return nil, nil
	}
	portName := svc.Spec.Ports[i].Name
	list, err := r.c.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return nil, fmt.Errorf("list the EndpointSlices of %s: %w", service, err)
	}
	var out []serviceEndpoint
	for _, s := range list.Items {
		for _, sp := range s.Ports {
			if sp.Port == nil || (sp.Name != nil && *sp.Name != portName) {
				continue
			}
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && !*e.Conditions.Ready || len(e.Addresses) == 0 {
					continue
				}
				if to, ok := r.pods[e.Addresses[0]]; ok {
					out = append(out, serviceEndpoint{pod: to, port: *sp.Port})
				}
			}
		}
	}
	r.endpoints[key] = out
	return out, nil
}

// caseTarget reads a case's protocol, address and port from its probe arguments.
func caseTarget(tc traffic.Case) (corev1.Protocol, string, int32, error) {
	if len(tc.Args) == 0 {
		return "", "", 0, fmt.Errorf("case %s has no probe arguments", tc.Name)
	}
	target := tc.Args[len(tc.Args)-1]
	proto := corev1.ProtocolTCP
	switch tc.Args[0] {
	case "http":
		u, err := url.Parse(target)
		if err != nil {
			return "", "", 0, fmt.Errorf("case %s: %w", tc.Name, err)
		}
		target = u.Host
		if u.Port() == "" {
			target = net.JoinHostPort(u.Hostname(), "80")
		}
	case "udp":
		proto = corev1.ProtocolUDP
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return "", "", 0, fmt.Errorf("case %s: %w", tc.Name, err)
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		return "", "", 0, fmt.Errorf("case %s: port %q: %w", tc.Name, port, err)
	}
	return proto, host, int32(n), nil
}

// Plan is a manual step per denial: the rule that would admit the flows, as a kubectl patch.
func (p NetworkPolicyBlocks) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	if len(findingsOf(findings, p.ID(), Fail)) == 0 {
		return plan, nil
	}
	list, err := c.Client.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return plan, fmt.Errorf("%s: list NetworkPolicies: %w", p.ID(), err)
	}
	blocks, _, err := evaluatePolicies(ctx, c, list.Items)
	if err != nil {
		return plan, fmt.Errorf("%s: %w", p.ID(), err)
	}
	for _, b := range blocks {
		step, err := b.manualStep()
		if err != nil {
			return plan, err
		}
		plan.Manual = append(plan.Manual, step)
	}
	return plan, nil
}

// volatileLabels are set per pod by controllers: a rule naming them would admit one pod only.
var volatileLabels = []string{"pod-template-hash", "controller-revision-hash", "pod-template-generation", "statefulset.kubernetes.io/pod-name"}

// manualStep is the patch that adds the admitting rule to the first isolating policy, or the
// policy's removal if nothing needs it.
func (b policyBlock) manualStep() (string, error) {
	var peers []map[string]any
	var ports []map[string]any
	for _, f := range b.flows {
		peer := f.From
		if b.dir == netpol.Egress {
			peer = f.To
		}
		sel := map[string]string{}
		for k, v := range peer.Labels {
			if !slices.Contains(volatileLabels, k) {
				sel[k] = v
			}
		}
		p := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]string{"kubernetes.io/metadata.name": peer.Namespace}},
			"podSelector": map[string]any{"matchLabels": sel}}
		if !slices.ContainsFunc(peers, func(q map[string]any) bool { return fmt.Sprint(q) == fmt.Sprint(p) }) {
			peers = append(peers, p)
		}
		port := map[string]any{"protocol": string(f.Protocol), "port": f.Port}
		if !slices.ContainsFunc(ports, func(q map[string]any) bool { return fmt.Sprint(q) == fmt.Sprint(port) }) {
			ports = append(ports, port)
		}
	}
	pol := b.policies[0]
	rule := map[string]any{b.dir.Peers(): peers, "ports": ports}
	op := map[string]any{"op": "add", "path": "/spec/" + string(b.dir) + "/-", "value": rule}
	if (b.dir == netpol.Ingress && len(pol.Spec.Ingress) == 0) || (b.dir == netpol.Egress && len(pol.Spec.Egress) == 0) {
		op = map[string]any{"op": "add", "path": "/spec/" + string(b.dir), "value": []any{rule}}
	}
	patch, err := json.Marshal([]map[string]any{op})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("NetworkPolicy %s denies %d flow(s) netcert's probes need (%s). If they should pass, admit them: kubectl -n %s patch networkpolicy %s --type=json -p '%s'; if nothing needs the policy, delete it: kubectl -n %s delete networkpolicy %s",
		strings.Join(b.refs(), ", "), len(b.flows), b.dir, pol.Namespace, pol.Name, patch, pol.Namespace, pol.Name), nil
}

// Apply refuses: a policy is the cluster owner's decision.
func (p NetworkPolicyBlocks) Apply(_ context.Context, _ *Cluster, plan Plan) (Record, error) {
	return Record{Check: p.ID()}, refuseManual(plan)
}
