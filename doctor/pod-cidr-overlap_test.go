package doctor

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// ipNode is a fake node that answers `ip -j addr show` and `ip -j route show table all` from a
// captured pair of testdata files; `ip route del` and `ip addr del` remove what they name, as the
// kernel does (an address takes its own routes with it, a device's last IPv4 address every route
// through the device), and fail when it is not there.
type ipNode struct {
	*node.Fake
	links  []json.RawMessage
	routes []json.RawMessage
	rules  string // `ip -j -4 rule show`
}

// defaultIPRules are a node's rules when nothing uses policy routing.
const defaultIPRules = `[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]`

func newIPNode(t *testing.T, name, capture string) *ipNode {
	t.Helper()
	n := &ipNode{Fake: node.NewFake(name), rules: defaultIPRules}
	require.NoError(t, json.Unmarshal(iprouteFile(t, capture+"-addr.json"), &n.links))
	require.NoError(t, json.Unmarshal(iprouteFile(t, capture+"-route.json"), &n.routes))
	n.Handle(strings.Join(iproute.AddrShowArgv, " "), func([]string) (string, int) { return ipDump(n.links), 0 })
	n.Handle(strings.Join(iproute.RouteShowArgv, " "), func([]string) (string, int) { return ipDump(n.routes), 0 })
	n.Handle("ip -j -4 rule show", func([]string) (string, int) { return n.rules, 0 })
	n.Handle("ip -j -6 rule show", func([]string) (string, int) { return "[]", 0 })
	n.Handle("ip route del", func(argv []string) (string, int) {
		for i, raw := range n.routes {
			if r := ipParseOne(t, raw); r.String() == strings.Join(argv[3:], " ") {
				n.routes = append(n.routes[:i], n.routes[i+1:]...)
				return "", 0
			}
		}
		return "", 2 // RTNETLINK answers: No such process
	})
	n.Handle("ip addr del", func(argv []string) (string, int) {
		prefix, dev := netip.MustParsePrefix(argv[3]), argv[5]
		for li, raw := range n.links {
			var link map[string]any
			require.NoError(t, json.Unmarshal(raw, &link))
			infos, _ := link["addr_info"].([]any)
			for i, ai := range infos {
				m := ai.(map[string]any)
				if link["ifname"] == dev && m["local"] == prefix.Addr().String() && m["prefixlen"] == float64(prefix.Bits()) {
					link["addr_info"] = append(infos[:i], infos[i+1:]...)
					b, err := json.Marshal(link)
					require.NoError(t, err)
					n.links[li] = b
					last := !strings.Contains(string(b), `"family":"inet"`)
					var kept []json.RawMessage
					for _, raw := range n.routes {
						ours := strings.Contains(string(raw), `"prefsrc":"`+prefix.Addr().String()+`"`)
						if r := ipParseOne(t, raw); r.Dev != dev || !(ours || last) {
							kept = append(kept, raw)
						}
					}
					n.routes = kept
					return "", 0
				}
			}
		}
		return "", 2 // RTNETLINK answers: Cannot assign requested address
	})
	return n
}

// ipDump prints entries as iproute2 does: a JSON array on one line.
func ipDump(entries []json.RawMessage) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = string(e)
	}
	return "[" + strings.Join(parts, ",") + "]\n"
}

func (n *ipNode) parsedRoutes(t *testing.T) []iproute.Route {
	routes, err := iproute.ParseRoute([]byte(ipDump(n.routes)))
	require.NoError(t, err)
	return routes
}

func ipParseOne(t *testing.T, raw json.RawMessage) iproute.Route {
	routes, err := iproute.ParseRoute([]byte("[" + string(raw) + "]"))
	require.NoError(t, err)
	return routes[0]
}

// overlapAPI is the API side of a 2-node kind cluster: nodes with podCIDRs and InternalIPs, the
// kube-apiserver static pod and Flannel's ConfigMap.
type overlapAPI struct {
	cp, worker       string // node InternalIPs
	cpCIDR, wCIDR    string
	network, service string
}

var healthyAPI = overlapAPI{cp: "172.18.0.2", worker: "172.18.0.3", cpCIDR: "10.244.0.0/24", wCIDR: "10.244.1.0/24",
	network: "10.244.0.0/16", service: "10.96.0.0/16"}

func (a overlapAPI) objects() []runtime.Object {
	mk := func(name, ip, cidr string, labels map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec:   corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}}}
	}
	return []runtime.Object{
		mk("kind-control-plane", a.cp, a.cpCIDR, map[string]string{controlPlaneRole: ""}),
		mk("kind-worker", a.worker, a.wCIDR, nil),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-apiserver-kind-control-plane"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-apiserver", Command: []string{
				"kube-apiserver", "--advertise-address=" + a.cp, "--service-cluster-ip-range=" + a.service, "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt"}}}}},
		flannelVXLANConfigMap(a.network),
	}
}

// overlapCluster is a Flannel cluster of kind-control-plane and kind-worker whose kernels are the
// two captures named.
func overlapCluster(t *testing.T, api overlapAPI, cpCapture, workerCapture string) (*Cluster, *ipNode, *ipNode) {
	t.Helper()
	cp, w := newIPNode(t, "kind-control-plane", cpCapture), newIPNode(t, "kind-worker", workerCapture)
	return &Cluster{Nodes: []node.Node{cp, w}, Client: fake.NewClientset(api.objects()...), CNI: "flannel"}, cp, w
}

func TestPodCIDROverlapQuietOnAHealthyFlannelCluster(t *testing.T) {
	c, _, _ := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker")
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 3, "one per node and one cluster-wide")
	for _, f := range findings {
		assert.Equal(t, Pass, f.Status, f.String())
	}
	assert.Equal(t, "kind-control-plane", findings[0].Node)
	assert.Equal(t, "kind-control-plane$ ip -j addr show", findings[0].Evidence[0].Source)
	assert.Equal(t, "kind-worker$ ip -j route show table all", findings[1].Evidence[1].Source)
	assert.Equal(t, "pod ranges 10.244.0.0/16 overlap neither the node network 172.18.0.0/16 nor the Service CIDR 10.96.0.0/16", findings[2].Summary)
	plan, err := consented.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestPodCIDROverlapFiresOnAMoreSpecificHostRoute(t *testing.T) {
	c, _, _ := overlapCluster(t, healthyAPI, "flannel-cp-fault", "flannel-worker")
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1, "%v", findings)
	f := failed[0]
	assert.Equal(t, "kind-control-plane", f.Node)
	assert.Equal(t, "route 10.244.1.0/25 dev ncfault0", f.Object)
	assert.Equal(t, "route 10.244.1.0/25 dev ncfault0 on kind-control-plane lies inside the pod network 10.244.0.0/16 (Flannel's Network) "+
		"and lies inside node kind-worker's podCIDR 10.244.1.0/24: it is more specific than the CNI's routes, so kind-control-plane "+
		"sends what is meant for pods of kind-worker in 10.244.1.0/25 out of ncfault0: those pods lose that traffic", f.Summary)
	var sources []string
	for _, ev := range f.Evidence {
		sources = append(sources, ev.Source)
	}
	assert.Equal(t, []string{"kind-control-plane$ ip -j addr show", "kind-control-plane$ ip -j route show table all",
		"GET configmap kube-flannel/kube-flannel-cfg (net-conf.json)", "LIST nodes (spec.podCIDRs, InternalIP)"}, sources)
	assert.Contains(t, f.Evidence[1].Output, `"dst":"10.244.1.0/25","dev":"ncfault0"`)
	passes := findingsOf(findings, "pod-cidr-overlap", Pass)
	require.Len(t, passes, 2, "the worker and the cluster-wide comparison")
	assert.Equal(t, "kind-worker", passes[0].Node)
}

func TestPodCIDROverlapFiresOnVLANAddressesAndRoutes(t *testing.T) {
	c, _, _ := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker-vlan")
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	var objects []string
	for _, f := range Failed(findings) {
		assert.Equal(t, "kind-worker", f.Node)
		objects = append(objects, f.Object)
	}
	assert.Equal(t, []string{
		"route 10.244.64.0/18 dev eth1 table 100",
		"route 10.244.128.0/17 via 10.244.0.1 dev eth1 proto static metric 100",
		"address 10.244.0.254/24 dev eth1",
	}, objects, "the address's own kernel route is not reported twice")
	assert.Contains(t, Failed(findings)[2].Summary, "equals node kind-control-plane's podCIDR 10.244.0.0/24: it has the same prefix as a CNI route")
	assert.Contains(t, Failed(findings)[1].Summary, "the pods that get addresses in 10.244.128.0/17", "no node has a podCIDR there yet")
}

func TestPodCIDROverlapFiresOnAPodSubnetOverlappingTheNodeNetwork(t *testing.T) {
	api := overlapAPI{cp: "10.250.0.2", worker: "10.250.0.3", cpCIDR: "10.250.0.0/24", wCIDR: "10.250.1.0/24",
		network: "10.250.0.0/16", service: "10.96.0.0/16"}
	c, _, _ := overlapCluster(t, api, "overlap-cp", "overlap-worker")
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1, "the node network is reported once, not per node: %v", findings)
	b := failed[0]
	assert.Equal(t, "", b.Node)
	assert.Equal(t, "pod network 10.250.0.0/16", b.Object)
	assert.Equal(t, "the pod network 10.250.0.0/16 (Flannel's Network) overlaps the node network 10.250.0.0/16 "+
		"(kind-control-plane eth0 10.250.0.2/16, kind-worker eth0 10.250.0.3/16): the cluster was created with a pod subnet "+
		"that overlaps it, so pods and those addresses collide and traffic between them goes astray", b.Summary)
	require.Len(t, b.Evidence, 2)
	assert.Equal(t, "kind-control-plane$ ip -j addr show", b.Evidence[1].Source)
}

func TestPodCIDROverlapFiresOnAPodNetworkOverlappingTheServiceCIDR(t *testing.T) {
	api := healthyAPI
	api.service = "10.244.240.0/20"
	c, _, _ := overlapCluster(t, api, "flannel-cp", "flannel-worker")
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1)
	assert.Equal(t, "pod network 10.244.0.0/16", failed[0].Object)
	assert.Contains(t, failed[0].Summary, "overlaps the Service CIDR 10.244.240.0/20")
	assert.Equal(t, Evidence{Source: "GET pod kube-system/kube-apiserver-kind-control-plane (command line)",
		Output: "--service-cluster-ip-range=10.244.240.0/20"}, failed[0].Evidence[1])
	plan, err := consented.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	assert.Equal(t, []string{"re-create the cluster with a pod subnet that does not overlap 10.244.240.0/20, e.g. 10.42.0.0/16 " +
		"(no node address, route or Service CIDR netcert saw overlaps it); or with a Service CIDR (kube-apiserver " +
		"--service-cluster-ip-range) that does not overlap the pod network 10.244.0.0/16 (Flannel's Network)"}, plan.Manual)
}

func TestPodCIDROverlapWithAnotherCNIUsesThePodCIDRs(t *testing.T) {
	c, _, _ := overlapCluster(t, healthyAPI, "flannel-cp-fault", "flannel-worker")
	c.CNI = "cilium"
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1)
	assert.NotContains(t, failed[0].Summary, "pod network", "no CNI network config was read")
	assert.Contains(t, failed[0].Summary, "lies inside node kind-worker's podCIDR 10.244.1.0/24")
	cluster := findings[len(findings)-1]
	assert.Equal(t, "pod ranges 10.244.0.0/24, 10.244.1.0/24 overlap neither the node network 172.18.0.0/16 nor the Service CIDR 10.96.0.0/16", cluster.Summary)
	assert.Contains(t, cluster.Evidence, Evidence{Source: "CNI network config",
		Output: `skipped: netcert reads the network config of flannel and calico, not of "cilium"; the pod network is the nodes' podCIDRs`})
}

func TestPodCIDROverlapCannotEvaluate(t *testing.T) {
	ctx := context.Background()
	c, _, _ := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker")
	c.Nodes = append(c.Nodes, node.NewFake("kind-worker2"))
	_, err := PodCIDROverlap{}.Run(ctx, c)
	assert.ErrorContains(t, err, "kind-worker2$ ip -j addr show", "an unreachable node is an error, never a Pass")

	c, _, _ = overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker")
	c.Nodes[1] = node.NewFake("kind-worker").Reply("ip -j addr show", "[]").Reply("ip -j route show table all", "default via 172.18.0.1 dev eth0")
	_, err = PodCIDROverlap{}.Run(ctx, c)
	assert.ErrorContains(t, err, "kind-worker: parse ip -j route show")

	c, _, _ = overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker")
	c.Client = fake.NewClientset(healthyAPI.objects()[:3]...) // no Flannel ConfigMap
	_, err = PodCIDROverlap{}.Run(ctx, c)
	assert.ErrorContains(t, err, "pod-cidr-overlap: read Flannel's network config")

	c.Client = nil
	_, err = PodCIDROverlap{}.Run(ctx, c)
	assert.ErrorContains(t, err, "no Kubernetes client")
}

func TestPodCIDROverlapNotesAMissingServiceCIDR(t *testing.T) {
	objs := healthyAPI.objects()
	c, _, _ := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker")
	c.Client = fake.NewClientset(objs[0], objs[1], objs[3]) // no kube-apiserver pod (not kubeadm)
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	cluster := findings[len(findings)-1]
	assert.Contains(t, cluster.Summary, "nor the Service CIDR (not found)")
	assert.Contains(t, cluster.Evidence, Evidence{Source: "GET pod kube-system/kube-apiserver-<control-plane node>",
		Output: "not found (control-plane nodes: kind-control-plane): the Service CIDR is not compared"})
}

func TestPodCIDROverlapLeavesTheCNIsRoutesAlone(t *testing.T) {
	routes, err := iproute.ParseRoute([]byte(`[
 {"dst":"10.244.1.0/24","gateway":"172.18.0.3","dev":"eth0","flags":[]},
 {"type":"blackhole","dst":"10.244.0.0/26","protocol":"80","flags":[]},
 {"dst":"10.244.1.0/26","gateway":"172.18.0.3","dev":"eth0","protocol":"bird","flags":[]},
 {"dst":"10.244.1.64/26","gateway":"10.244.1.64","dev":"vxlan.calico","flags":["onlink"]},
 {"dst":"10.244.0.5","dev":"cali1f2e3d4c5b6","scope":"link","flags":[]},
 {"dst":"10.244.2.0/24","dev":"tunl0","flags":[]},
 {"type":"local","dst":"10.244.0.9","dev":"eth1","table":"local","protocol":"kernel","scope":"host","flags":[]},
 {"dst":"default","gateway":"172.18.0.1","dev":"eth0","flags":[]},
 {"dst":"10.244.1.0/24","gateway":"172.18.0.9","dev":"eth0","flags":[]},
 {"type":"blackhole","dst":"10.244.1.0/28","flags":[]}
]`))
	require.NoError(t, err)
	api := &apiRanges{
		PodCIDRs:    []ipRange{{Prefix: netip.MustParsePrefix("10.244.1.0/24"), Node: "w", What: "node w's podCIDR 10.244.1.0/24"}},
		InternalIPs: map[string][]netip.Addr{"w": {netip.MustParseAddr("172.18.0.3")}},
	}
	assert.Equal(t, []string{"10.244.1.0/24 via 172.18.0.9 dev eth0", "blackhole 10.244.1.0/28"},
		specsOf(hostRoutes(api, &nodeRoutes{Name: "cp", Routes: routes})),
		"host-gw and Calico routes, CNI devices, the local table and the default route are the CNI's or harmless; "+
			"a podCIDR route via an address that is not that node's, or a blackhole outside Calico, are not")
}
