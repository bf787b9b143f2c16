package doctor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The labels kube-proxy selects by: an EndpointSlice's Service, and the label that hands a
// Service to another proxy (kube-proxy then leaves it alone).
const (
	kpServiceNameLabel = "kubernetes.io/service-name"
	kpProxyNameLabel   = "service.kubernetes.io/service-proxy-name"
)

// kpServicePort is one port of a Service's IPv4 ClusterIP, with the endpoints the Service's
// EndpointSlices list for it: what kube-proxy programs on every node.
type kpServicePort struct {
	Service   string     // "namespace/name"
	Name      string     // the port's name; "" for a Service's single unnamed port
	IP        netip.Addr // the IPv4 ClusterIP
	Port      int
	Proto     string // tcp, udp or sctp
	Local     bool   // internalTrafficPolicy Local: a node reaches only its own endpoints
	Endpoints []kpEndpoint
	// Changed is when the API last changed the Service or one of its EndpointSlices (the latest
	// creation or managed-fields time, as the API server's clock tells it).
	Changed time.Time
}

// kpEndpoint is one endpoint of a Service port, as kube-proxy reads it from an EndpointSlice
// (the endpoint's first address, the slice's port).
type kpEndpoint struct {
	Addr      string // "ip:port"
	Node      string
	Ready     bool // a nil ready condition counts as ready
	ZoneHints []string
	NodeHints []string
}

// String names the port's destination as traffic sees it: "10.96.0.10:53/udp".
func (sp kpServicePort) String() string {
	return fmt.Sprintf("%s:%d/%s", sp.IP, sp.Port, sp.Proto)
}

// object is the finding's Object: "service kube-system/kube-dns 53/udp".
func (sp kpServicePort) object() string {
	return fmt.Sprintf("service %s %d/%s", sp.Service, sp.Port, sp.Proto)
}

// expected returns the endpoints kube-proxy on the node must send the port's traffic to, sorted:
// the ready ones, only the node's own under internalTrafficPolicy Local, and only those hinted for
// the node (or its zone) when every ready endpoint carries such hints and one is for it, as
// kube-proxy's topology-aware routing does. Empty means kube-proxy programs no DNAT for the port.
func (sp kpServicePort) expected(nodeName, zone string) []string {
	var ready []kpEndpoint
	for _, e := range sp.Endpoints {
		if e.Ready {
			ready = append(ready, e)
		}
	}
	keep := func(kpEndpoint) bool { return true }
	switch {
	case sp.Local:
		keep = func(e kpEndpoint) bool { return e.Node == nodeName }
	case allHinted(ready, func(e kpEndpoint) []string { return e.NodeHints }, nodeName):
		keep = func(e kpEndpoint) bool { return hasString(e.NodeHints, nodeName) }
	case zone != "" && allHinted(ready, func(e kpEndpoint) []string { return e.ZoneHints }, zone):
		keep = func(e kpEndpoint) bool { return hasString(e.ZoneHints, zone) }
	}
	var out []string
	for _, e := range ready {
		if keep(e) {
			out = append(out, e.Addr)
		}
	}
	sort.Strings(out)
	return out
}

// allHinted reports whether every endpoint has hints and at least one is hinted for want.
func allHinted(eps []kpEndpoint, hints func(kpEndpoint) []string, want string) bool {
	found := false
	for _, e := range eps {
		if len(hints(e)) == 0 {
			return false
		}
		found = found || hasString(hints(e), want)
	}
	return found
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kpExpectations is what the API says kube-proxy must program: every Service port with its
// endpoints, and each node's zone (for topology hints).
type kpExpectations struct {
	ports []kpServicePort
	zones map[string]string
}

// kpAPISource is the evidence source of the API reads.
const kpAPISource = "LIST services, endpointslices.discovery.k8s.io (all namespaces)"

// readKubeProxyExpectations lists the Services, their EndpointSlices and the nodes. Services that
// kube-proxy does not program are left out: headless, ExternalName, without an IPv4 ClusterIP, or
// handed to another proxy by the service-proxy-name label.
func readKubeProxyExpectations(ctx context.Context, client kubernetes.Interface) (*kpExpectations, error) {
	if client == nil {
		return nil, fmt.Errorf("kube-proxy-rules-missing needs the Kubernetes API (Cluster.Client)")
	}
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	slices, err := client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{LabelSelector: kpServiceNameLabel})
	if err != nil {
		return nil, fmt.Errorf("list endpointslices: %w", err)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	exp := &kpExpectations{zones: map[string]string{}}
	for _, n := range nodes.Items {
		exp.zones[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	bySvc := map[string][]discoveryv1.EndpointSlice{}
	for _, s := range slices.Items {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		key := s.Namespace + "/" + s.Labels[kpServiceNameLabel]
		bySvc[key] = append(bySvc[key], s)
	}
	for _, svc := range svcs.Items {
		ip, ok := serviceIPv4(svc)
		if !ok || svc.Labels[kpProxyNameLabel] != "" {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		local := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
		for _, p := range svc.Spec.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			sp := kpServicePort{Service: key, Name: p.Name, IP: ip, Port: int(p.Port),
				Proto: strings.ToLower(string(proto)), Local: local}
			sp.Endpoints = sliceEndpoints(bySvc[key], p.Name, proto)
			sp.Changed = lastChange(svc.ObjectMeta)
			for _, sl := range bySvc[key] {
				sp.Changed = latest(sp.Changed, lastChange(sl.ObjectMeta))
			}
			exp.ports = append(exp.ports, sp)
		}
	}
	sort.Slice(exp.ports, func(i, j int) bool {
		a, b := exp.ports[i], exp.ports[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Proto < b.Proto
	})
	return exp, nil
}

// lastChange is when the API last wrote obj: its creation, or the latest time a field manager
// changed it.
func lastChange(obj metav1.ObjectMeta) time.Time {
	t := obj.CreationTimestamp.Time
	for _, mf := range obj.ManagedFields {
		if mf.Time != nil {
			t = latest(t, mf.Time.Time)
		}
	}
	return t
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// serviceIPv4 returns the Service's IPv4 ClusterIP, if kube-proxy proxies it.
func serviceIPv4(svc corev1.Service) (netip.Addr, bool) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return netip.Addr{}, false
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false // "", "None" (headless) or IPv6 only
}

// sliceEndpoints collects the endpoints of the slices' port of that name and protocol,
// deduplicated by address; a duplicate that is ready wins.
func sliceEndpoints(slices []discoveryv1.EndpointSlice, name string, proto corev1.Protocol) []kpEndpoint {
	seen := map[string]int{}
	var out []kpEndpoint
	for _, s := range slices {
		for _, p := range s.Ports {
			if p.Name == nil || *p.Name != name || p.Port == nil || *p.Port == 0 ||
				(p.Protocol != nil && *p.Protocol != proto) || (p.Protocol == nil && proto != corev1.ProtocolTCP) {
				continue
			}
			for _, e := range s.Endpoints {
				if len(e.Addresses) == 0 {
					continue
				}
				a, err := netip.ParseAddr(e.Addresses[0])
				if err != nil {
					continue
				}
				ep := kpEndpoint{Addr: net.JoinHostPort(a.String(), strconv.Itoa(int(*p.Port))),
					Ready: e.Conditions.Ready == nil || *e.Conditions.Ready}
				if e.NodeName != nil {
					ep.Node = *e.NodeName
				}
				if e.Hints != nil {
					for _, z := range e.Hints.ForZones {
						ep.ZoneHints = append(ep.ZoneHints, z.Name)
					}
					for _, n := range e.Hints.ForNodes {
						ep.NodeHints = append(ep.NodeHints, n.Name)
					}
				}
				if i, dup := seen[ep.Addr]; dup {
					if ep.Ready && !out[i].Ready {
						out[i] = ep
					}
					continue
				}
				seen[ep.Addr] = len(out)
				out = append(out, ep)
			}
		}
	}
	return out
}

// describe says what the API expects of the port on a node, for evidence.
func (sp kpServicePort) describe(nodeName string, want []string) string {
	policy := ""
	if sp.Local {
		policy = ", internalTrafficPolicy Local"
	}
	name := sp.Name
	if name == "" {
		name = "(unnamed)"
	}
	changed := ""
	if !sp.Changed.IsZero() {
		changed = "; last changed " + sp.Changed.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("service %s: ClusterIP %s, port %s %d/%s%s; ready endpoints for %s: %s%s",
		sp.Service, sp.IP, name, sp.Port, sp.Proto, policy, nodeName, strings.Join(want, ", "), changed)
}
