package faults

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netcert/netcert/fixtures"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
)

func hermeticCorefile(t *testing.T, upstream string) string {
	t.Helper()
	out, err := fixtures.Render("coredns-corefile.tmpl", map[string]string{"ClusterDomain": "cluster.local", "Upstream": upstream})
	require.NoError(t, err)
	return string(out)
}

// corednsFake is a fake cluster whose CoreDNS runs corefile and rolls out after two reads.
func corednsFake(t *testing.T, corefile string) (*Cluster, *fake.Clientset) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Data: map[string]string{"Corefile": corefile}}
	cs := fake.NewClientset([]runtime.Object{cm, kubetest.CoreDNS(2)}...)
	kubetest.SimulateRollouts(cs, 2)
	return &Cluster{Client: cs}, cs
}

// corednsState returns the Corefile and the CoreDNS pod-template hash annotation.
func corednsState(t *testing.T, cs *fake.Clientset) (string, string) {
	t.Helper()
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	d, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	done, why := kube.RolloutComplete(d)
	require.True(t, done, why)
	return cm.Data["Corefile"], d.Spec.Template.Annotations[kube.CorefileHashAnnotation]
}

func countUpdates(cs *fake.Clientset) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

var forwardFault = CoreDNSForwardBroken{DeadUpstream: "10.96.0.99", PollInterval: time.Millisecond, RolloutTimeout: 5 * time.Second}

func TestCoreDNSForwardBrokenInjectsAndReverts(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	c, cs := corednsFake(t, original)
	ctx := context.Background()
	revert, err := forwardFault.Inject(ctx, c)
	require.NoError(t, err)
	corefile, hash := corednsState(t, cs)
	assert.Equal(t, hermeticCorefile(t, "10.96.0.99:53"), corefile, "only the forward target changed")
	assert.Equal(t, kube.SHA256(corefile), hash, "CoreDNS was rolled onto the broken Corefile")

	require.NoError(t, revert(ctx))
	corefile, hash = corednsState(t, cs)
	assert.Equal(t, original, corefile)
	assert.Equal(t, kube.SHA256(original), hash)

	n := countUpdates(cs)
	require.NoError(t, revert(ctx), "revert is idempotent")
	assert.Equal(t, n, countUpdates(cs), "a second revert changes nothing")
}

func TestCoreDNSForwardBrokenRevertAfterARepair(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	c, cs := corednsFake(t, original)
	ctx := context.Background()
	revert, err := forwardFault.Inject(ctx, c)
	require.NoError(t, err)

	// The repair puts the original Corefile back and rolls CoreDNS with the same annotation.
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	cm.Data["Corefile"] = original
	_, err = cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, _, err = kube.RollCoreDNS(ctx, cs, original, time.Second, time.Millisecond)
	require.NoError(t, err)

	n := countUpdates(cs)
	require.NoError(t, revert(ctx))
	assert.Equal(t, n+1, countUpdates(cs), "after the repair only the fault's mark is left to take off")
	cm, err = cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, cm.Annotations, OriginalCorefileAnnotation)
	assert.Equal(t, original, cm.Data["Corefile"])
}

// A run killed while the fault is in: the ConfigMap's mark holds the original Corefile, and
// Clean puts it back (and takes the mark off); on a clean cluster it does nothing.
func TestCoreDNSForwardBrokenCleanRestoresTheMarkedCorefile(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	c, cs := corednsFake(t, original)
	ctx := context.Background()
	_, err := forwardFault.Inject(ctx, c) // and the run dies
	require.NoError(t, err)
	cleaned, err := Clean(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"coredns-forward-broken (the original Corefile is back)"}, cleaned)
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, original, cm.Data["Corefile"])
	assert.NotContains(t, cm.Annotations, OriginalCorefileAnnotation)

	cleaned, err = Clean(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, cleaned)
}

func TestCoreDNSForwardBrokenKeepsOptionsAndEveryTarget(t *testing.T) {
	src := ".:53 {\n    errors\n    forward . dns://10.96.12.34 \"10.96.12.35:5353\" { # upstreams\n        max_concurrent 1000\n    }\n}\nlab.test:53 {\n  forward lab.test 10.96.0.7\n}\n"
	c, cs := corednsFake(t, src)
	revert, err := forwardFault.Inject(context.Background(), c)
	require.NoError(t, err)
	corefile, _ := corednsState(t, cs)
	assert.Equal(t, ".:53 {\n    errors\n    forward . 10.96.0.99:53 { # upstreams\n        max_concurrent 1000\n    }\n}\nlab.test:53 {\n  forward lab.test 10.96.0.99:53\n}\n", corefile)
	require.NoError(t, revert(context.Background()))
	corefile, _ = corednsState(t, cs)
	assert.Equal(t, src, corefile)
}

// A forward in a snippet is edited where the snippet is defined, once however often it is imported.
func TestCoreDNSForwardBrokenEditsSnippets(t *testing.T) {
	src := "(upstream) {\n    forward . 10.96.12.34 # the upstream\n}\n.:53 {\n    import upstream\n}\n(zones) {\n    lab.test:53 {\n        import upstream\n    }\n}\nimport zones\n"
	c, cs := corednsFake(t, src)
	_, err := forwardFault.Inject(context.Background(), c)
	require.NoError(t, err)
	corefile, _ := corednsState(t, cs)
	assert.Equal(t, strings.Replace(src, "forward . 10.96.12.34 #", "forward . 10.96.0.99:53 #", 1), corefile)
}

// kubeadmCorefile is kubeadm v1.34's default Corefile.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

func TestCoreDNSForwardBrokenKubeadmDefault(t *testing.T) {
	c, cs := corednsFake(t, kubeadmCorefile)
	_, err := forwardFault.Inject(context.Background(), c)
	require.NoError(t, err)
	corefile, _ := corednsState(t, cs)
	assert.Equal(t, strings.Replace(kubeadmCorefile, "forward . /etc/resolv.conf {", "forward . 10.96.0.99:53 {", 1), corefile)
}

func TestCoreDNSForwardBrokenRefuses(t *testing.T) {
	ctx := context.Background()
	for dead, want := range map[string]string{
		"":            "the dead upstream is required",
		"dns.example": `dead upstream "dns.example" is not an IP or IP:port`,
		"192.0.2.1":   "dead upstream 192.0.2.1 is not a private address of the cluster network",
		"127.0.0.1":   "dead upstream 127.0.0.1 is not a private address",
	} {
		c, cs := corednsFake(t, hermeticCorefile(t, "10.96.12.34:53"))
		_, err := CoreDNSForwardBroken{DeadUpstream: dead}.Inject(ctx, c)
		assert.ErrorContains(t, err, want)
		assert.Zero(t, countUpdates(cs), "nothing was touched")
	}
	for src, want := range map[string]string{
		".:53 {\n    errors\n}\n":                                        "no forward directive to break",
		".:53 {\n    import custom/*.server\n}\n":                        `line 2 of the Corefile imports "custom/*.server"`,
		".:53 {\n    forward . 10.96.12.34\n}\nimport custom/*.server\n": `line 4 of the Corefile imports "custom/*.server"`,
		".:53 {\n    forward . 10.96.12.34 {$UPSTREAM}\n}\n":             "line 2 of the Corefile forwards to {$UPSTREAM}, a variable of the CoreDNS pod's environment",
		".:53 {\n    forward . 10.96.12.34\n    cache 30\n":              "Corefile:3 - Syntax error",
	} {
		c, cs := corednsFake(t, src)
		_, err := forwardFault.Inject(ctx, c)
		assert.ErrorContains(t, err, want)
		assert.Zero(t, countUpdates(cs))
	}
}

func TestCoreDNSForwardBrokenFailedInjectLeavesNothingBehind(t *testing.T) {
	original := hermeticCorefile(t, "10.96.12.34:53")
	c, cs := corednsFake(t, original)
	cs.PrependReactor("update", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("admission webhook denied the request")
	})
	revert, err := forwardFault.Inject(context.Background(), c)
	assert.Nil(t, revert)
	assert.ErrorContains(t, err, "admission webhook denied the request")
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, original, cm.Data["Corefile"], "the Corefile was restored")
}

func TestCoreDNSForwardBrokenDeadService(t *testing.T) {
	ctx := context.Background()
	dead := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dead-upstream", Namespace: "netcert-system"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.7.7", Ports: []corev1.ServicePort{{Port: 53}}}}
	c, cs := corednsFake(t, hermeticCorefile(t, "10.96.12.34:53"))
	_, err := cs.CoreV1().Services("netcert-system").Create(ctx, dead, metav1.CreateOptions{})
	require.NoError(t, err)
	fault := forwardFault
	fault.DeadUpstream, fault.DeadService = "", "netcert-system/dead-upstream"
	revert, err := fault.Inject(ctx, c)
	require.NoError(t, err)
	corefile, _ := corednsState(t, cs)
	assert.Contains(t, corefile, "forward . 10.96.7.7:53\n")
	require.NoError(t, revert(ctx))

	ready := true
	_, err = cs.DiscoveryV1().EndpointSlices("netcert-system").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "dead-upstream-x", Namespace: "netcert-system",
			Labels: map[string]string{discoveryv1.LabelServiceName: "dead-upstream"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	updates := countUpdates(cs)
	_, err = fault.Inject(ctx, c)
	assert.ErrorContains(t, err, "service netcert-system/dead-upstream has a ready endpoint ([10.244.1.5])")
	assert.Equal(t, updates, countUpdates(cs), "nothing was touched")

	fault.DeadService = "dead-upstream"
	_, err = fault.Inject(ctx, c)
	assert.ErrorContains(t, err, `dead service "dead-upstream": want namespace/name`)
}
