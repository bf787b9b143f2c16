package doctor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/node"
)

const kpWorker = "netcert-worker"

// kpCheck reads each failing node a second time after a millisecond, as the default does after 3s.
var kpCheck = KubeProxyRulesMissing{Settle: time.Millisecond, PollInterval: time.Millisecond}

// kpFakeNode is a fake node whose kube-proxy data plane the test can change: the
// iptables-nft-save output and, in nftables mode, the listing of table ip kube-proxy.
type kpFakeNode struct {
	*node.Fake
	mu       sync.Mutex
	xt, nft  string
	xtReads  int
	onXtRead func(n int) // called with the number of the read, once it is answered
}

func (k *kpFakeNode) set(xt, nft string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.xt, k.nft = xt, nft
}

// newKPNode serves the testdata files xtFile (iptables-nft-save) and nftFile ("" when kube-proxy
// runs in iptables mode); iptables-legacy-save shows no tables, as on a kind node.
func newKPNode(t *testing.T, name, xtFile, nftFile string) *kpFakeNode {
	t.Helper()
	k := &kpFakeNode{Fake: node.NewFake(name)}
	k.set(kpTestdata(t, xtFile), kpTestdata(t, nftFile))
	k.Handle("iptables-nft-save", func([]string) (string, int) {
		k.mu.Lock()
		k.xtReads++
		cb, n, out := k.onXtRead, k.xtReads, k.xt
		k.mu.Unlock()
		if cb != nil {
			cb(n)
		}
		return out, 0
	})
	k.Reply("iptables-legacy-save", "")
	k.Handle("nft list tables", func([]string) (string, int) {
		k.mu.Lock()
		defer k.mu.Unlock()
		tables := "table ip mangle\ntable ip filter\ntable ip nat\ntable ip6 mangle\ntable ip6 filter\ntable ip6 nat\n"
		if k.nft != "" {
			tables += "table ip kube-proxy\ntable ip6 kube-proxy\n"
		}
		return tables, 0
	})
	k.Handle("nft list table ip kube-proxy", func([]string) (string, int) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.nft == "" {
			return "", 1
		}
		return k.nft, 0
	})
	return k
}

func kpTestdata(t *testing.T, file string) string {
	if file == "" {
		return ""
	}
	return testdata(t, "kube-proxy", file)
}

func kpPtr[T any](v T) *T { return &v }

// kpService is a Service with a ClusterIP and ports "name/port/PROTO".
func kpService(ns, name, ip string, ports ...string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip}}}
	for _, p := range ports {
		f := strings.Split(p, "/")
		port := corev1.ServicePort{Name: f[0], Protocol: corev1.Protocol(f[2])}
		_, err := fmt.Sscan(f[1], &port.Port)
		if err != nil {
			panic(err)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, port)
	}
	return svc
}

// kpSlice is an IPv4 EndpointSlice of a Service with ports "name/port/PROTO" and endpoints
// "ip@node" (ready), "ip@node!" (not ready, terminating) or "ip" (no node).
func kpSlice(ns, svc, name string, ports []string, endpoints ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{kpServiceNameLabel: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, p := range ports {
		f := strings.Split(p, "/")
		var port int32
		if _, err := fmt.Sscan(f[1], &port); err != nil {
			panic(err)
		}
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: kpPtr(f[0]), Port: kpPtr(port), Protocol: kpPtr(corev1.Protocol(f[2]))})
	}
	for _, e := range endpoints {
		ready := !strings.HasSuffix(e, "!")
		e = strings.TrimSuffix(e, "!")
		ip, nodeName, _ := strings.Cut(e, "@")
		ep := discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: kpPtr(ready), Serving: kpPtr(ready), Terminating: kpPtr(!ready)}}
		if nodeName != "" {
			ep.NodeName = kpPtr(nodeName)
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

// kpObjects is the API of the testdata's cluster: the API server's Service, CoreDNS (two ready
// endpoints on the control plane and a terminating one), a node-local UDP echo with
// internalTrafficPolicy Local, and Services kube-proxy leaves alone (headless, ExternalName,
// another proxy's) or programs no DNAT for (no endpoints).
func kpObjects(dnsEndpoints ...string) []runtime.Object {
	if dnsEndpoints == nil {
		dnsEndpoints = []string{"10.244.0.2@netcert-control-plane", "10.244.0.3@netcert-control-plane", "10.244.1.9@netcert-worker!"}
	}
	dnsPorts := []string{"dns/53/UDP", "dns-tcp/53/TCP", "metrics/9153/TCP"}
	echo := kpService("netcert-system", "node-echo", "10.96.88.7", "udp-echo/8082/UDP")
	echo.Spec.InternalTrafficPolicy = kpPtr(corev1.ServiceInternalTrafficPolicyLocal)
	headless := kpService("default", "headless", "None", "http/80/TCP")
	external := kpService("default", "external", "", "http/80/TCP")
	external.Spec.Type = corev1.ServiceTypeExternalName
	other := kpService("default", "other-proxy", "10.96.30.30", "http/80/TCP")
	other.Labels = map[string]string{kpProxyNameLabel: "another-proxy"}
	return []runtime.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "netcert-control-plane"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: kpWorker}},
		kpService("default", "kubernetes", "10.96.0.1", "https/443/TCP"),
		kpSlice("default", "kubernetes", "kubernetes", []string{"https/6443/TCP"}, "172.18.0.3"),
		kpService("kube-system", "kube-dns", "10.96.0.10", dnsPorts...),
		kpSlice("kube-system", "kube-dns", "kube-dns-x7k2p", dnsPorts, dnsEndpoints...),
		echo,
		kpSlice("netcert-system", "node-echo", "node-echo-4fz9q", []string{"udp-echo/8082/UDP"}, "10.244.0.4@netcert-control-plane", "10.244.1.2@netcert-worker"),
		headless,
		kpSlice("default", "headless", "headless-abcde", []string{"http/80/TCP"}, "10.244.1.7@netcert-worker"),
		external,
		other,
		kpSlice("default", "other-proxy", "other-proxy-abcde", []string{"http/80/TCP"}, "10.244.1.8@netcert-worker"),
		kpService("default", "no-endpoints", "10.96.200.14", "http/80/TCP"),
	}
}

func kpCluster(objects []runtime.Object, nodes ...node.Node) (*Cluster, *fake.Clientset) {
	cs := fake.NewClientset(objects...)
	return &Cluster{Nodes: nodes, Client: cs}, cs
}

func TestKubeProxyRulesMissingQuietOnAHealthyIptablesNode(t *testing.T) {
	c, _ := kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-healthy.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	f := findings[0]
	assert.Equal(t, Pass, f.Status)
	assert.Equal(t, kpWorker, f.Node)
	assert.Equal(t, "5 Service ports programmed (iptables mode)", f.Summary)
	require.Len(t, f.Evidence, 1)
	assert.Equal(t, "netcert-worker$ iptables-nft-save", f.Evidence[0].Source)
	plan, err := kpCheck.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestKubeProxyRulesMissingFiresWhenAServiceChainLostItsEndpoints(t *testing.T) {
	// What the fault leaves: KUBE-SVC-TCOU7JCQXEZGVUNU (kube-dns:dns) flushed, its KUBE-SERVICES
	// rule and KUBE-SEP chains still there.
	c, _ := kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-svc-flushed.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	f := findings[0]
	assert.Equal(t, Fail, f.Status)
	assert.Equal(t, kpWorker, f.Node)
	assert.Equal(t, "service kube-system/kube-dns 53/udp", f.Object)
	assert.Equal(t, []string{"kube-system/kube-dns"}, f.Services)
	assert.Equal(t, "KUBE-SVC-TCOU7JCQXEZGVUNU has 0 of 2 endpoints: missing 10.244.0.2:53, 10.244.0.3:53", f.Summary)
	require.Len(t, f.Evidence, 2)
	assert.Equal(t, "netcert-worker$ iptables-nft-save", f.Evidence[0].Source)
	assert.Equal(t, `-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU`+"\n"+
		":KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0] (empty)", f.Evidence[0].Output)
	assert.Equal(t, kpAPISource, f.Evidence[1].Source)
	assert.Equal(t, "service kube-system/kube-dns: ClusterIP 10.96.0.10, port dns 53/udp; ready endpoints for netcert-worker: 10.244.0.2:53, 10.244.0.3:53", f.Evidence[1].Output)
}

func TestKubeProxyRulesMissingFiresWithoutTheKubeServicesRule(t *testing.T) {
	c, _ := kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-no-service-rule.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	f := findings[0]
	assert.Equal(t, Fail, f.Status)
	assert.Equal(t, "service kube-system/kube-dns 53/tcp", f.Object)
	assert.Equal(t, "no KUBE-SERVICES rule for 10.96.0.10:53/tcp", f.Summary)
	// the evidence shows what KUBE-SERVICES has for that ClusterIP: its other ports
	assert.Contains(t, f.Evidence[0].Output, `"kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU`)
	assert.Contains(t, f.Evidence[0].Output, `--dport 9153 -j KUBE-SVC-JD5MR3NA4I4DYORP`)
}

func TestKubeProxyRulesMissingFiresOnAStaleEndpoint(t *testing.T) {
	// 10.244.1.9 is terminating (not ready) in the API, but the rules still DNAT to it.
	c, _ := kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-stale-endpoint.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Fail, findings[0].Status)
	assert.Equal(t, "KUBE-SVC-TCOU7JCQXEZGVUNU has 2 of 2 endpoints; stale 10.244.1.9:53 (not a ready endpoint)", findings[0].Summary)
	assert.Contains(t, findings[0].Evidence[0].Output, "-j DNAT --to-destination 10.244.1.9:53")
}

func TestKubeProxyRulesMissingFiresOnAMissingEndpoint(t *testing.T) {
	// The API has a third ready CoreDNS endpoint that kube-proxy never programmed: one Fail per
	// port of the Service.
	objects := kpObjects("10.244.0.2@netcert-control-plane", "10.244.0.3@netcert-control-plane", "10.244.1.5@netcert-worker")
	c, _ := kpCluster(objects, newKPNode(t, kpWorker, "iptables-nft-healthy.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 3)
	var summaries []string
	for _, f := range findings {
		assert.Equal(t, Fail, f.Status)
		summaries = append(summaries, f.Object+": "+f.Summary)
	}
	assert.Equal(t, []string{
		"service kube-system/kube-dns 53/tcp: KUBE-SVC-ERIFXISQEP7F7OF4 has 2 of 3 endpoints: missing 10.244.1.5:53",
		"service kube-system/kube-dns 53/udp: KUBE-SVC-TCOU7JCQXEZGVUNU has 2 of 3 endpoints: missing 10.244.1.5:53",
		"service kube-system/kube-dns 9153/tcp: KUBE-SVC-JD5MR3NA4I4DYORP has 2 of 3 endpoints: missing 10.244.1.5:9153",
	}, summaries)
}

func TestKubeProxyRulesMissingLocalTrafficPolicyUsesTheNodesOwnEndpoints(t *testing.T) {
	// node-echo's endpoint on the worker is now 10.244.1.3: KUBE-SVL still sends to 10.244.1.2.
	objects := kpObjects()
	for i, o := range objects {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.Name == "node-echo-4fz9q" {
			objects[i] = kpSlice("netcert-system", "node-echo", s.Name, []string{"udp-echo/8082/UDP"},
				"10.244.0.4@netcert-control-plane", "10.244.1.3@netcert-worker")
		}
	}
	c, _ := kpCluster(objects, newKPNode(t, kpWorker, "iptables-nft-healthy.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, "service netcert-system/node-echo 8082/udp", findings[0].Object)
	assert.Equal(t, "KUBE-SVL-FLRNBRLAAJBIEY3V has 0 of 1 endpoints: missing 10.244.1.3:8082; stale 10.244.1.2:8082 (not a ready endpoint)", findings[0].Summary)
	assert.Contains(t, findings[0].Evidence[1].Output, "internalTrafficPolicy Local; ready endpoints for netcert-worker: 10.244.1.3:8082")
}

func TestKubeProxyRulesMissingNotApplicableWithoutKubeProxy(t *testing.T) {
	// kube-proxy replaced (e.g. by the CNI): neither data plane on the node.
	c, _ := kpCluster(kpObjects(), newKPNode(t, kpWorker, "iptables-nft-nftables-mode.save", ""))
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	f := findings[0]
	assert.Equal(t, NotApplicable, f.Status)
	assert.Contains(t, f.Summary, "kube-proxy's data plane is not on this node")
	assert.Equal(t, []Evidence{
		{Source: "netcert-worker$ iptables-nft-save", Output: "no KUBE-SERVICES chain in the nat table"},
		{Source: "netcert-worker$ iptables-legacy-save", Output: "no KUBE-SERVICES chain in the nat table"},
		{Source: "netcert-worker$ nft list tables", Output: "no table ip kube-proxy"},
	}, f.Evidence)

	// ipvs mode: a KUBE-SERVICES chain that matches an ipset, not a rule per Service port
	ipvs := node.NewFake(kpWorker).Reply("iptables-nft-save", "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n"+
		`-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ`+"\n"+
		"-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\nCOMMIT\n").Reply("nft list tables", "table ip nat\n")
	c, _ = kpCluster(kpObjects(), ipvs)
	findings, err = kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, NotApplicable, findings[0].Status)
	assert.Contains(t, findings[0].Summary, "ipvs mode")
}

// changedAt marks every EndpointSlice of objects as last written by its controller at t.
func changedAt(objects []runtime.Object, t time.Time) []runtime.Object {
	for _, o := range objects {
		if sl, ok := o.(*discoveryv1.EndpointSlice); ok {
			sl.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "endpointslice-controller", Operation: metav1.ManagedFieldsOperationUpdate, Time: &metav1.Time{Time: t}}}
		}
	}
	return objects
}

func TestKubeProxyRulesMissingReadsAFailingNodeAgain(t *testing.T) {
	// kube-proxy follows the API a moment behind: for a Service that has just changed, a mismatch
	// gone by the second read is not reported.
	healthy := kpTestdata(t, "iptables-nft-healthy.save")
	healsOnSecondRead := func() *kpFakeNode {
		n := newKPNode(t, kpWorker, "iptables-nft-svc-flushed.save", "")
		n.onXtRead = func(read int) {
			if read == 1 {
				n.set(healthy, "") // answered by the second read
			}
		}
		return n
	}
	check := KubeProxyRulesMissing{Settle: 300 * time.Millisecond, PollInterval: time.Millisecond}
	n := healsOnSecondRead()
	c, _ := kpCluster(changedAt(kpObjects(), time.Now()), n)
	findings, err := check.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Pass, findings[0].Status)
	assert.Equal(t, 2, strings.Count(strings.Join(n.Calls(), "\n"), "iptables-nft-save"))

	// a Service that changed longer ago than kube-proxy needs to follow: the first read stands
	for _, changed := range []time.Time{time.Now().Add(-time.Minute), {}} {
		n = healsOnSecondRead()
		c, _ = kpCluster(changedAt(kpObjects(), changed), n)
		findings, err = check.Run(context.Background(), c)
		require.NoError(t, err)
		require.Len(t, Failed(findings), 1, "changed %s", changed)
		assert.Contains(t, Failed(findings)[0].Evidence[len(Failed(findings)[0].Evidence)-1].Output, "ready endpoints for")
		assert.Equal(t, 1, strings.Count(strings.Join(n.Calls(), "\n"), "iptables-nft-save"))
	}

	// nor is it read again when Settle is negative
	n = healsOnSecondRead()
	c, _ = kpCluster(changedAt(kpObjects(), time.Now()), n)
	findings, err = KubeProxyRulesMissing{Settle: -1}.Run(context.Background(), c)
	require.NoError(t, err)
	assert.Len(t, Failed(findings), 1)
}

func TestKubeProxyRulesMissingCannotEvaluate(t *testing.T) {
	ctx := context.Background()
	_, err := kpCheck.Run(ctx, &Cluster{Nodes: []node.Node{newKPNode(t, kpWorker, "iptables-nft-healthy.save", "")}})
	assert.ErrorContains(t, err, "needs the Kubernetes API")

	c, _ := kpCluster(kpObjects(), node.NewFake("bare"))
	_, err = kpCheck.Run(ctx, c)
	assert.ErrorContains(t, err, "bare: kube-proxy's rules cannot be read: iptables-nft-save, iptables-legacy-save, nft are not installed")

	broken := node.NewFake(kpWorker).Handle("iptables-nft-save", func([]string) (string, int) { return "", 4 })
	c, _ = kpCluster(kpObjects(), broken)
	_, err = kpCheck.Run(ctx, c)
	assert.ErrorContains(t, err, "netcert-worker$ iptables-nft-save")
}

func TestKubeProxyRulesMissingOnTheLiveCapture(t *testing.T) {
	// iptables-nft-save -c of a real kind worker (testdata/live), with the API that matches it.
	cp, w := "netcert-smoke-control-plane", "netcert-smoke-worker"
	probePorts := []string{"http/8080/TCP", "tcp-echo/8081/TCP", "udp-echo/8082/UDP"}
	upstreamPorts := []string{"dns/53/UDP", "dns-tcp/53/TCP"}
	dnsPorts := []string{"dns/53/UDP", "dns-tcp/53/TCP", "metrics/9153/TCP"}
	objects := []runtime.Object{
		kpService("default", "kubernetes", "10.96.0.1", "https/443/TCP"),
		kpSlice("default", "kubernetes", "kubernetes", []string{"https/6443/TCP"}, "172.20.0.2"),
		kpService("kube-system", "kube-dns", "10.96.0.10", dnsPorts...),
		kpSlice("kube-system", "kube-dns", "kube-dns-1", dnsPorts, "10.244.2.4@netcert-smoke-worker2", "10.244.2.5@netcert-smoke-worker2"),
		kpService("netcert-system", "netcert-probe", "10.96.17.234", "http/80/TCP", "tcp-echo/8081/TCP", "udp-echo/8082/UDP"),
		kpSlice("netcert-system", "netcert-probe", "netcert-probe-1", probePorts, "10.244.0.3@"+cp, "10.244.1.3@"+w, "10.244.2.3@netcert-smoke-worker2"),
		kpService("netcert-system", "dns-upstream", "10.96.249.14", "dns/53/UDP", "dns-tcp/53/TCP"),
		kpSlice("netcert-system", "dns-upstream", "dns-upstream-1", upstreamPorts, "10.244.1.2@"+w),
	}
	live := testdata(t, "live", "worker-nft.save")
	n := node.NewFake(w).Reply("iptables-nft-save", live).Reply("iptables-legacy-save", "").Reply("nft list tables", "table ip nat\n")
	c, _ := kpCluster(objects, n)
	findings, err := kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Pass, findings[0].Status, findings[0].Summary)
	assert.Equal(t, "9 Service ports programmed (iptables mode)", findings[0].Summary)

	// the same capture with one endpoint jump removed, as a partial sync gone wrong would leave it
	broken := strings.Replace(live, `[1:75] -A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.2.4:53" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-RJHMR3QLYGJVBWVL`+"\n", "", 1)
	require.NotEqual(t, live, broken)
	n.Reply("iptables-nft-save", broken)
	findings, err = kpCheck.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, "KUBE-SVC-TCOU7JCQXEZGVUNU has 1 of 2 endpoints: missing 10.244.2.4:53", findings[0].Summary)
}
