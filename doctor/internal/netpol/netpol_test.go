package netpol

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var (
	tcp, udp = corev1.ProtocolTCP, corev1.ProtocolUDP
	web      = Pod{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}, IP: netip.MustParseAddr("10.244.1.5"),
		Ports: map[string]corev1.ContainerPort{"http": {Name: "http", ContainerPort: 8080, Protocol: tcp}}}
	api      = Pod{Namespace: "shop", Name: "api", Labels: map[string]string{"app": "api"}, IP: netip.MustParseAddr("10.244.2.7")}
	monitor  = Pod{Namespace: "ops", Name: "prom", Labels: map[string]string{"app": "prom"}, IP: netip.MustParseAddr("10.244.3.9")}
	nsLabels = map[string]map[string]string{"shop": {"team": "shop"}, "ops": {"team": "ops"}}
)

func policy(name string, sel map[string]string, spec func(*networkingv1.NetworkPolicySpec)) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: sel}}}
	spec(&p.Spec)
	return p
}

func port(proto corev1.Protocol, p intstr.IntOrString) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &p}
}

func from(peers ...networkingv1.NetworkPolicyPeer) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = append(s.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers})
	}
}

func pods(sel map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: sel}}
}

func TestDenials(t *testing.T) {
	endPort := int32(8090)
	cases := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		flow     Flow
		denied   []Direction
	}{
		{"no policy: everything passes", nil, Flow{api, web, tcp, 8080}, nil},
		{"a policy of other pods isolates nothing here", []networkingv1.NetworkPolicy{policy("db", map[string]string{"app": "db"}, from())}, Flow{api, web, tcp, 8080}, nil},
		{"default deny (no ingress rule)", []networkingv1.NetworkPolicy{policy("deny", nil, func(s *networkingv1.NetworkPolicySpec) {
			s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		})}, Flow{api, web, tcp, 8080}, []Direction{Ingress}},
		{"admitted by a pod selector", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, from(pods(map[string]string{"app": "api"})))},
			Flow{api, web, tcp, 8080}, nil},
		{"a pod selector of the policy's namespace only", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, from(pods(map[string]string{"app": "prom"})))},
			Flow{monitor, web, tcp, 8080}, []Direction{Ingress}},
		{"admitted by a namespace selector", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, from(networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ops"}}}))}, Flow{monitor, web, tcp, 8080}, nil},
		{"namespace and pod selectors together", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, from(networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ops"}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "grafana"}}}))}, Flow{monitor, web, tcp, 8080}, []Direction{Ingress}},
		{"an ipBlock with the source excepted", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, from(networkingv1.NetworkPolicyPeer{
			IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/16", Except: []string{"10.244.2.0/24"}}}))}, Flow{api, web, tcp, 8080}, []Direction{Ingress}},
		{"a named port of the destination", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, func(s *networkingv1.NetworkPolicySpec) {
			s.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromString("http"))}}}
		})}, Flow{api, web, tcp, 8080}, nil},
		{"the right port, the wrong protocol", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, func(s *networkingv1.NetworkPolicySpec) {
			s.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromInt32(8082))}}}
		})}, Flow{api, web, udp, 8082}, []Direction{Ingress}},
		{"a port range", []networkingv1.NetworkPolicy{policy("web", map[string]string{"app": "web"}, func(s *networkingv1.NetworkPolicySpec) {
			p := port(tcp, intstr.FromInt32(8000))
			p.EndPort = &endPort
			s.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{p}}}
		})}, Flow{api, web, tcp, 8080}, nil},
		{"two policies: one admitting is enough", []networkingv1.NetworkPolicy{
			policy("deny", map[string]string{"app": "web"}, func(s *networkingv1.NetworkPolicySpec) {
				s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			}),
			policy("allow-api", map[string]string{"app": "web"}, from(pods(map[string]string{"app": "api"})))}, Flow{api, web, tcp, 8080}, nil},
		{"egress of the source, by default type from its rules", []networkingv1.NetworkPolicy{policy("api-out", map[string]string{"app": "api"}, func(s *networkingv1.NetworkPolicySpec) {
			s.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{pods(map[string]string{"app": "db"})}}}
		})}, Flow{api, web, tcp, 8080}, []Direction{Egress}},
		{"an ingress-only policy leaves egress open", []networkingv1.NetworkPolicy{policy("api-in", map[string]string{"app": "api"}, from())},
			Flow{api, web, tcp, 8080}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			denials, err := Cluster{Policies: tc.policies, Namespaces: nsLabels}.Denials(tc.flow)
			require.NoError(t, err)
			var dirs []Direction
			for _, d := range denials {
				dirs = append(dirs, d.Direction)
				assert.NotEmpty(t, d.Policies)
			}
			assert.Equal(t, tc.denied, dirs)
		})
	}
}

func TestRuleTextNamesEveryRule(t *testing.T) {
	p := policy("web", map[string]string{"app": "web"}, func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = []networkingv1.NetworkPolicyIngressRule{
			{From: []networkingv1.NetworkPolicyPeer{pods(map[string]string{"app": "api"})}, Ports: []networkingv1.NetworkPolicyPort{port(tcp, intstr.FromInt32(8080))}},
			{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}}}}
	})
	assert.Equal(t, "rule 1: from pods app=api on TCP/8080; rule 2: from ipBlock 10.0.0.0/8 except 10.1.0.0/16 on any port", RuleText(&p, Ingress))
	assert.Equal(t, "no egress rule: it admits nothing", RuleText(&p, Egress))
}

func TestDenialsRejectsABadSelector(t *testing.T) {
	p := policy("bad", nil, from())
	p.Spec.PodSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
	_, err := Cluster{Policies: []networkingv1.NetworkPolicy{p}}.Denials(Flow{api, web, tcp, 80})
	assert.ErrorContains(t, err, "NetworkPolicy shop/bad")
}
