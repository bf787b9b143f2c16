package doctor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/fixtures"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
)

// corednsProber answers DNS probes for the servers marked alive; it sends no traffic.
type corednsProber struct {
	mu    sync.Mutex
	alive map[string]bool
	err   error // the probe cannot run at all
	calls []string
}

func (p *corednsProber) PodPairs(context.Context, []NodePair) ([]PairResult, error) {
	return nil, errors.New("not used")
}

func (p *corednsProber) DNS(_ context.Context, server, name string) (bool, Evidence, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, server+" "+name)
	ev := Evidence{Source: "pod netcert-system/probe-a (node w1)$ /netcert-probe dns --server " + server + " --timeout 2s " + name}
	if p.err != nil {
		return false, ev, p.err
	}
	if p.alive[server] {
		ev.Output = `{"ok":true,"detail":"probe.netcert.test. 30 IN A 127.0.0.1"}`
		return true, ev, nil
	}
	ev.Output = `{"ok":false,"error":"read udp 10.244.1.5:40000->` + server + `: i/o timeout"}`
	return false, ev, nil
}

// corednsCluster is a fake cluster whose CoreDNS runs corefile; its Deployment rolls out after
// two reads, like a slow controller. The probe servers in alive answer.
func corednsCluster(t *testing.T, corefile string, alive ...string) (*Cluster, *fake.Clientset, *corednsProber) {
	t.Helper()
	return corednsClusterRolling(t, corefile, 2, alive...)
}

// corednsClusterRolling is corednsCluster whose rollouts complete after polls reads.
func corednsClusterRolling(t *testing.T, corefile string, polls int, alive ...string) (*Cluster, *fake.Clientset, *corednsProber) {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system", ResourceVersion: "1"},
		Data:       map[string]string{"Corefile": corefile},
	}
	cs := fake.NewClientset([]runtime.Object{cm, kubetest.CoreDNS(2)}...)
	kubetest.SimulateRollouts(cs, polls)
	prober := &corednsProber{alive: map[string]bool{}}
	for _, a := range alive {
		prober.alive[a] = true
	}
	return &Cluster{Client: cs, Probe: prober}, cs, prober
}

// hermeticCorefile renders the Corefile the test bed gives CoreDNS.
func hermeticCorefile(t *testing.T, upstream string) string {
	t.Helper()
	out, err := fixtures.Render("coredns-corefile.tmpl", map[string]string{"ClusterDomain": "cluster.local", "Upstream": upstream})
	require.NoError(t, err)
	return string(out)
}

// forwardCheck polls rollouts quickly.
var forwardCheck = CoreDNSForwardBroken{PollInterval: time.Millisecond, RolloutTimeout: 5 * time.Second}

const (
	corednsLiveUpstream = "10.96.12.34:53"
	corednsDeadUpstream = "10.96.0.99:53" // a ClusterIP without endpoints in the suites
)

func corefileOf(t *testing.T, c *Cluster) string {
	t.Helper()
	cm, err := c.Client.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	return cm.Data["Corefile"]
}

func countCoreDNSActions(cs *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func TestCoreDNSForwardBrokenQuietOnAHealthyCorefile(t *testing.T) {
	healthy := hermeticCorefile(t, corednsLiveUpstream)
	c, cs, prober := corednsCluster(t, healthy, corednsLiveUpstream)
	ctx := context.Background()
	findings, err := forwardCheck.Run(ctx, c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Pass, findings[0].Status)
	assert.Equal(t, "configmap/kube-system/coredns forward 10.96.12.34:53", findings[0].Object)
	assert.Equal(t, []string{"10.96.12.34:53 probe.netcert.test."}, prober.calls)
	plan, err := forwardCheck.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())

	for _, a := range cs.Actions() {
		assert.Contains(t, []string{"get", "list", "watch"}, a.GetVerb(), "the check only reads: %s %s", a.GetVerb(), a.GetResource().Resource)
	}
}

// Keeping the known-good Corefile is an explicit step, taken only when every target answered.
func TestSnapshotCorefileKeepsOnlyAVerifiedCorefile(t *testing.T) {
	ctx := context.Background()
	healthy := hermeticCorefile(t, corednsLiveUpstream)
	c, cs, _ := corednsCluster(t, healthy, corednsLiveUpstream)
	kept, did, err := SnapshotCorefile(ctx, c, forwardCheck)
	require.NoError(t, err)
	assert.True(t, kept)
	assert.Equal(t, "kept the Corefile (1 forward target(s) answered) in configmap/kube-system/netcert-known-good-corefile", did)
	kg, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, KnownGoodCorefile, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, healthy, kg.Data["Corefile"])
	assert.Equal(t, kube.SHA256(healthy), kg.Annotations["netcert.io/corefile-sha256"])
	kept, did, err = SnapshotCorefile(ctx, c, forwardCheck)
	require.NoError(t, err)
	assert.True(t, kept)
	assert.Contains(t, did, "already holds this Corefile")
	assert.Equal(t, 0, countCoreDNSActions(cs, "update", "configmaps"), "an unchanged known-good Corefile is not rewritten")

	c, cs, _ = corednsCluster(t, hermeticCorefile(t, corednsDeadUpstream), corednsLiveUpstream)
	kept, did, err = SnapshotCorefile(ctx, c, forwardCheck)
	require.NoError(t, err)
	assert.False(t, kept)
	assert.Contains(t, did, "not kept: the Corefile is not known to be good")
	assert.Equal(t, 0, countCoreDNSActions(cs, "create", "configmaps"), "a broken Corefile is never kept as known-good")

	c, cs, _ = corednsCluster(t, readCorefileFixture(t, "kubeadm-v1.34.Corefile"))
	c.Probe = nil
	kept, did, err = SnapshotCorefile(ctx, c, forwardCheck)
	require.NoError(t, err)
	assert.False(t, kept, "the node's resolvers are not probed: not verified (%s)", did)
	assert.Equal(t, 0, countCoreDNSActions(cs, "create", "configmaps"))
}

func TestCoreDNSForwardBrokenFiresOnADeadTarget(t *testing.T) {
	c, cs, _ := corednsCluster(t, hermeticCorefile(t, corednsDeadUpstream), corednsLiveUpstream)
	findings, err := forwardCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	f := findings[0]
	assert.Equal(t, Fail, f.Status)
	assert.Equal(t, "configmap/kube-system/coredns forward 10.96.0.99:53", f.Object)
	assert.Contains(t, f.Summary, "CoreDNS forwards . to 10.96.0.99:53, which does not answer probe.netcert.test.")
	require.Len(t, f.Evidence, 2)
	assert.Equal(t, "GET configmap kube-system/coredns: Corefile lines 14-14", f.Evidence[0].Source)
	assert.Equal(t, "14:     forward . 10.96.0.99:53", f.Evidence[0].Output)
	assert.Contains(t, f.Evidence[1].Source, "dns --server 10.96.0.99:53")
	assert.Contains(t, f.Evidence[1].Output, "i/o timeout")
	assert.Equal(t, 0, countCoreDNSActions(cs, "create", "configmaps"), "a broken Corefile is never kept as known-good")
}

func TestCoreDNSForwardBrokenSeveralServerBlocks(t *testing.T) {
	c, cs, prober := corednsCluster(t, readCorefileFixture(t, "multi-block.Corefile"),
		"10.96.200.11:5353", "10.96.12.34:53", "[fd00:10:96::a]:53")
	findings, err := forwardCheck.Run(context.Background(), c)
	require.NoError(t, err)
	status := map[string]Status{}
	for _, f := range findings {
		status[strings.TrimPrefix(f.Object, "configmap/kube-system/coredns forward ")] = f.Status
	}
	assert.Equal(t, map[string]Status{
		"10.96.200.10:53": Fail, "10.96.200.11:5353": Pass, "10.96.12.34:53": Pass,
		"[fd00:10:96::a]:53": Pass, "tls://10.96.200.20:853": NotApplicable,
	}, status)
	assert.Len(t, prober.calls, 4, "DNS over TLS is not probed")
	assert.Equal(t, 0, countCoreDNSActions(cs, "create", "configmaps"))
}

func TestCoreDNSForwardBrokenDoesNotProbeTheNodesResolvers(t *testing.T) {
	c, cs, _ := corednsCluster(t, readCorefileFixture(t, "kubeadm-v1.34.Corefile"))
	c.Probe = nil // nothing to probe: no prober needed
	findings, err := forwardCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, NotApplicable, findings[0].Status)
	assert.Equal(t, "configmap/kube-system/coredns forward /etc/resolv.conf", findings[0].Object)
	assert.Contains(t, findings[0].Summary, "the node's resolvers: not probed")
	assert.Equal(t, 0, countCoreDNSActions(cs, "create", "configmaps"), "an unverified Corefile is not known-good")
}

func TestCoreDNSForwardBrokenReportsAnEnvironmentPlaceholder(t *testing.T) {
	c, _, prober := corednsCluster(t, ".:53 {\n    forward . {$UPSTREAM} "+corednsLiveUpstream+"\n}\n", corednsLiveUpstream)
	findings, err := forwardCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 2)
	env := findings[0]
	assert.Equal(t, NotApplicable, env.Status)
	assert.Equal(t, "configmap/kube-system/coredns forward {$UPSTREAM}", env.Object)
	assert.Equal(t, "CoreDNS forwards . to {$UPSTREAM}, an environment variable of the CoreDNS pod: netcert cannot read or probe it", env.Summary)
	assert.Equal(t, Pass, findings[1].Status)
	assert.Equal(t, []string{corednsLiveUpstream + " probe.netcert.test."}, prober.calls, "only the address is probed")
}

func TestCoreDNSForwardBrokenCannotEvaluate(t *testing.T) {
	ctx := context.Background()
	healthy := hermeticCorefile(t, corednsLiveUpstream)

	_, err := forwardCheck.Run(ctx, &Cluster{Client: fake.NewClientset(), Probe: &corednsProber{}})
	assert.ErrorContains(t, err, `read the CoreDNS Corefile: configmaps "coredns" not found`)

	c, _, _ := corednsCluster(t, healthy)
	c.Probe = nil
	_, err = forwardCheck.Run(ctx, c)
	assert.ErrorContains(t, err, "coredns-forward-broken: no prober to query forward target 10.96.12.34:53")

	c, _, prober := corednsCluster(t, healthy)
	prober.err = errors.New("no running netcert probe pod in netcert-system")
	_, err = forwardCheck.Run(ctx, c)
	assert.ErrorContains(t, err, "probe 10.96.12.34:53: no running netcert probe pod")

	c, _, _ = corednsCluster(t, readCorefileFixture(t, "unclosed-server-block.Corefile"), corednsLiveUpstream)
	_, err = forwardCheck.Run(ctx, c)
	assert.ErrorContains(t, err, "configmap/kube-system/coredns: parse Corefile: Corefile:4")

	_, err = forwardCheck.Run(ctx, &Cluster{Probe: &corednsProber{}})
	assert.ErrorContains(t, err, "no Kubernetes client")
}
