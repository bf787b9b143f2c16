package doctor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/traffic"
)

// policyCluster is probeCluster on two nodes with the same-node Service's port and endpoints
// (the pods of set b: 10.244.0.11, 10.244.1.11) and the policies, on cni.
func policyCluster(t *testing.T, cni string, policies ...*networkingv1.NetworkPolicy) *Cluster {
	t.Helper()
	ctx := context.Background()
	cs := probeCluster("w1", "w2")
	svc, err := cs.CoreV1().Services(traffic.Namespace).Get(ctx, traffic.SameNodeService, metav1.GetOptions{})
	require.NoError(t, err)
	svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}
	_, err = cs.CoreV1().Services(traffic.Namespace).Update(ctx, svc, metav1.UpdateOptions{})
	require.NoError(t, err)
	name, port, ready := "http", int32(8080), true
	_, err = cs.DiscoveryV1().EndpointSlices(traffic.Namespace).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "same-node-1", Namespace: traffic.Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: traffic.SameNodeService}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.11"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
			{Addresses: []string{"10.244.1.11"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: traffic.Namespace,
		Labels: map[string]string{"kubernetes.io/metadata.name": traffic.Namespace}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, p := range policies {
		_, err := cs.NetworkingV1().NetworkPolicies(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	return &Cluster{Client: cs, CNI: cni}
}

// setPolicy isolates the probe pods of set for ingress, admitting what ingress holds.
func setPolicy(name, set string, ingress ...networkingv1.NetworkPolicyIngressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: traffic.Namespace},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"netcert.io/probe-set": set}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, Ingress: ingress}}
}

func fromSet(set string) networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"netcert.io/probe-set": set}}}}}
}

// No policy, or policies that admit every probe flow: quiet, and nothing to plan.
func TestNetworkPolicyBlocksQuiet(t *testing.T) {
	for name, c := range map[string]*Cluster{
		"no policy":                    policyCluster(t, "calico"),
		"a policy admitting both sets": policyCluster(t, "calico", setPolicy("b-from-probes", "b", fromSet("a"), fromSet("b"))),
		"a policy of other pods":       policyCluster(t, "calico", setPolicy("c-only", "c")),
	} {
		t.Run(name, func(t *testing.T) {
			findings, err := NetworkPolicyBlocks{}.Run(t.Context(), c)
			require.NoError(t, err)
			require.Len(t, findings, 1)
			assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
			plan, err := NetworkPolicyBlocks{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			assert.True(t, plan.Empty())
		})
	}
}

// A policy that admits set b's own pods only denies set a's flows to set b, directly and through
// the same-node Service: named with the policy, the isolated pods, the flows and the rule; the
// plan is a patch for a person, which apply refuses.
func TestNetworkPolicyBlocksNamesThePolicyAndTheRule(t *testing.T) {
	c := policyCluster(t, "calico", setPolicy("b-from-b", "b", fromSet("b")))
	cs := c.Client.(*fake.Clientset)
	setup := len(cs.Actions())
	findings, err := NetworkPolicyBlocks{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	slicesRead := 0
	for _, a := range cs.Actions()[setup:] {
		if a.GetVerb() == "list" && a.GetResource().Resource == "endpointslices" {
			slicesRead++
		}
	}
	assert.Equal(t, 1, slicesRead, "the same-node Service's endpoints are read once for both senders")
	f := findings[0]
	assert.Equal(t, Fail, f.Status)
	assert.Equal(t, "networkpolicy/netcert-system/b-from-b", f.Object)
	assert.Contains(t, f.Summary, "NetworkPolicy netcert-system/b-from-b isolates netcert-system/probe-b-w1, netcert-system/probe-b-w2 for ingress")
	assert.Contains(t, f.Summary, "netcert-system/probe-a-w1 → netcert-system/probe-b-w1 TCP/8080")
	assert.Contains(t, f.Summary, "netcert-system/probe-a-w1 → netcert-system/probe-b-w1 UDP/8082")
	assert.Contains(t, f.Summary, "its rules: netcert-system/b-from-b: rule 1: from pods netcert.io/probe-set=b on any port")
	assert.Equal(t, []string{"10.244.0.11/32", "10.244.1.11/32"}, f.Ranges)
	assert.Equal(t, []string{traffic.Namespace + "/" + traffic.SameNodeService}, f.Services)

	plan, err := NetworkPolicyBlocks{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], `kubectl -n netcert-system patch networkpolicy b-from-b --type=json -p '[{"op":"add","path":"/spec/ingress/-","value":{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"netcert-system"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"netcert-probe","netcert.io/probe-set":"a"}}}],"ports":[{"port":8080,"protocol":"TCP"},{"port":8082,"protocol":"UDP"}]}}]'`)
	_, err = NetworkPolicyBlocks{}.Apply(t.Context(), c, plan)
	assert.ErrorContains(t, err, "not applied automatically")
}

// The traffic a policy denies is its consequence, directly (the pods' addresses) and through a
// Service (the Service's name).
func TestNetworkPolicyBlocksExplainsTheTrafficItDenies(t *testing.T) {
	c := policyCluster(t, "calico", setPolicy("b-from-b", "b", fromSet("b")))
	cause, err := NetworkPolicyBlocks{}.Run(t.Context(), c)
	require.NoError(t, err)
	direct := Finding{Check: "traffic-path-broken", Status: Fail, Path: traffic.PodToPodSameNode, Crosses: []string{"w1"}, Endpoints: []string{"10.244.0.10", "10.244.0.11"}}
	viaService := Finding{Check: "traffic-path-broken", Status: Fail, Path: traffic.PodToServiceSameNode, Crosses: []string{"w1"},
		Endpoints: []string{"10.244.0.10", "10.96.7.8"}, Services: []string{traffic.Namespace + "/" + traffic.SameNodeService}}
	explained := Explain(append(cause, direct, viaService))
	require.Len(t, RootCauses(explained), 1)
	assert.Equal(t, "network-policy-blocks", RootCauses(explained)[0].Check)
}

// An egress policy of the senders is named for egress.
func TestNetworkPolicyBlocksEgress(t *testing.T) {
	p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "a-out-dns-only", Namespace: traffic.Namespace},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"netcert.io/probe-set": "a"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptrTo(intstr.FromInt32(53))}}}}}}
	findings, err := NetworkPolicyBlocks{}.Run(t.Context(), policyCluster(t, "calico", p))
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Contains(t, findings[0].Summary, "isolates netcert-system/probe-a-w1, netcert-system/probe-a-w2 for egress")
	assert.Contains(t, findings[0].Summary, "rule 1: to anywhere on TCP/53")
}

// Flannel enforces no policy: a policy that would deny is a warning that it isolates nothing.
func TestNetworkPolicyBlocksOnFlannelSaysNotEnforced(t *testing.T) {
	findings, err := NetworkPolicyBlocks{}.Run(t.Context(), policyCluster(t, "flannel", setPolicy("b-from-b", "b", fromSet("b"))))
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Warn, findings[0].Status)
	assert.Equal(t, "flannel does not enforce NetworkPolicies: the 1 that exist isolate nothing (netcert-system/b-from-b)", findings[0].Summary)
	findings, err = NetworkPolicyBlocks{}.Run(t.Context(), policyCluster(t, "flannel"))
	require.NoError(t, err)
	assert.Equal(t, Pass, findings[0].Status)
	assert.Equal(t, "flannel does not enforce NetworkPolicies, and none exists", findings[0].Summary)
}

func ptrTo[T any](v T) *T { return &v }
