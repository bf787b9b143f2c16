package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
)

// linkNode is a fake node that keeps its devices and main-table routes, answering the ip
// commands the fault runs as iproute2 would (JSON for -j, exit 2 for a missing route).
type linkNode struct {
	*node.Fake
	links  map[string]bool
	routes map[string]string // dst -> dev
}

func newLinkNode(name string) *linkNode {
	n := &linkNode{Fake: node.NewFake(name), links: map[string]bool{"lo": true, "eth0": true, "flannel.1": true, "cni0": true},
		routes: map[string]string{"10.244.1.0/24": "flannel.1"}}
	journalOn(n.Fake)
	n.Handle("ip -j link show", func([]string) (string, int) {
		var names []string
		for l := range n.links {
			names = append(names, fmt.Sprintf(`{"ifname":%q}`, l))
		}
		sort.Strings(names)
		return "[" + strings.Join(names, ",") + "]\n", 0
	})
	n.Handle("ip link add", func(argv []string) (string, int) {
		n.links[argv[3]], n.links[argv[8]] = true, true
		return "", 0
	})
	n.Handle("ip link set", func(argv []string) (string, int) {
		if !n.links[argv[3]] {
			return "", 1
		}
		return "", 0
	})
	n.Handle("ip link del", func(argv []string) (string, int) {
		if !n.links[argv[3]] {
			return "", 1 // Cannot find device
		}
		delete(n.links, PodCIDROverlapDev)
		delete(n.links, PodCIDROverlapPeer)
		for dst, dev := range n.routes {
			if dev == PodCIDROverlapDev {
				delete(n.routes, dst)
			}
		}
		return "", 0
	})
	n.Handle("ip route add", func(argv []string) (string, int) {
		if _, ok := n.routes[argv[3]]; ok || !n.links[argv[5]] {
			return "", 2
		}
		n.routes[argv[3]] = argv[5]
		return "", 0
	})
	n.Handle("ip route del", func(argv []string) (string, int) {
		if n.routes[argv[3]] != argv[5] {
			return "", 2 // RTNETLINK answers: No such process
		}
		delete(n.routes, argv[3])
		return "", 0
	})
	n.Handle("ip -j route show exact", func(argv []string) (string, int) {
		if dev, ok := n.routes[argv[5]]; ok {
			return fmt.Sprintf(`[{"dst":%q,"dev":%q,"scope":"link","flags":[]}]`+"\n", argv[5], dev), 0
		}
		return "[]\n", 0
	})
	return n
}

func overlapFaultCluster() (*Cluster, *linkNode) {
	cp := newLinkNode("kind-control-plane")
	nodeWith := func(name, cidr string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr, PodCIDRs: []string{cidr}}}
	}
	cs := fake.NewClientset(nodeWith("kind-control-plane", "10.244.0.0/24"), nodeWith("kind-worker", "10.244.1.0/24"))
	return &Cluster{Nodes: []node.Node{cp, node.NewFake("kind-worker")}, Client: cs, CNI: "flannel"}, cp
}

func TestPodCIDROverlapInjectsAndReverts(t *testing.T) {
	ctx := context.Background()
	c, cp := overlapFaultCluster()
	revert, err := PodCIDROverlap{Node: "kind-control-plane", TargetNode: "kind-worker"}.Inject(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"ip -j link show",
		"ip link add ncfault0 type veth peer name ncfault1",
		"ip link set ncfault0 up",
		"ip link set ncfault1 up",
		"ip route add 10.244.1.0/25 dev ncfault0",
	}, withoutJournal(cp.Calls()))
	assert.Equal(t, "ncfault0", cp.routes["10.244.1.0/25"])

	require.NoError(t, revert(ctx))
	assert.Equal(t, []string{
		"ip -j route show exact 10.244.1.0/25",
		"ip route del 10.244.1.0/25 dev ncfault0",
		"ip -j link show",
		"ip link del ncfault0",
	}, withoutJournal(cp.Calls())[5:])
	assert.Equal(t, map[string]string{"10.244.1.0/24": "flannel.1"}, cp.routes, "Flannel's route untouched")
	assert.False(t, cp.links["ncfault0"] || cp.links["ncfault1"])

	require.NoError(t, revert(ctx), "revert is idempotent")
	assert.Equal(t, []string{"ip -j route show exact 10.244.1.0/25", "ip -j link show"}, withoutJournal(cp.Calls())[9:], "nothing left to delete")
}

func TestPodCIDROverlapRevertAfterARepair(t *testing.T) {
	ctx := context.Background()
	c, cp := overlapFaultCluster()
	revert, err := PodCIDROverlap{Node: "kind-control-plane", TargetNode: "kind-worker"}.Inject(ctx, c)
	require.NoError(t, err)
	delete(cp.routes, "10.244.1.0/25") // what doctor's repair does: ip route del 10.244.1.0/25 dev ncfault0
	require.NoError(t, revert(ctx))
	assert.NotContains(t, strings.Join(withoutJournal(cp.Calls()), "\n"), "ip route del", "the route was already gone")
	assert.False(t, cp.links["ncfault0"], "the veth pair is still removed")
}

func TestPodCIDROverlapFailedInjectLeavesNothing(t *testing.T) {
	ctx := context.Background()
	c, cp := overlapFaultCluster()
	cp.routes["10.244.1.0/25"] = "eth0" // someone else's route: the fault's add fails
	_, err := PodCIDROverlap{Node: "kind-control-plane", TargetNode: "kind-worker"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "pod-cidr-overlap: kind-control-plane$ ip route add 10.244.1.0/25 dev ncfault0")
	assert.False(t, cp.links["ncfault0"], "the veth pair was removed again")
	assert.Equal(t, "eth0", cp.routes["10.244.1.0/25"], "a route that is not the fault's is left alone")
}

func TestPodCIDROverlapRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	c, cp := overlapFaultCluster()
	_, err := PodCIDROverlap{Node: "kind-worker", TargetNode: "kind-worker"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "the target must be another node")
	_, err = PodCIDROverlap{Node: "kind-control-plane", TargetNode: "kind-worker3"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "pod-cidr-overlap: read target node")
	_, err = PodCIDROverlap{Node: "nope", TargetNode: "kind-worker"}.Inject(ctx, c)
	assert.ErrorContains(t, err, `no node "nope"`)

	cp.links["ncfault1"] = true // left behind
	_, err = PodCIDROverlap{Node: "kind-control-plane", TargetNode: "kind-worker"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "kind-control-plane already has a device ncfault1")

	assert.True(t, PodCIDROverlap{}.AppliesTo("flannel"))
	assert.False(t, PodCIDROverlap{Node: "kind-worker", TargetNode: "kind-worker2"}.AppliesTo("calico"), "a host route is Flannel's shape")
	assert.True(t, PodCIDROverlap{Pool: "172.18.0.0/26"}.AppliesTo("calico"))
	assert.False(t, PodCIDROverlap{Pool: "172.18.0.0/26"}.AppliesTo("flannel"))
	assert.False(t, PodCIDROverlap{}.AppliesTo("cilium"))
}

// calicoPoolCluster is a Calico cluster with its default IPPool, whose API gives the pod of the
// fault's ReplicaSet an address from the fault's pool (in a block of the pod's node) and, as the
// CNI's DEL does, frees it when the pod is deleted.
func calicoPoolCluster(t *testing.T) (*Cluster, *fake.Clientset, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	ctx := context.Background()
	dyn := kubetest.CalicoDynamic(kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false))
	cs := fake.NewClientset()
	cs.PrependReactor("create", "replicasets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		rs := a.(k8stesting.CreateAction).GetObject().(*appsv1.ReplicaSet)
		yes := true
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: rs.Namespace, Name: rs.Name + "-x", Labels: rs.Spec.Template.Labels,
			Annotations:     rs.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, Controller: &yes}}},
			Spec: rs.Spec.Template.Spec, Status: corev1.PodStatus{PodIP: "172.20.255.0"}}
		for _, obj := range kubetest.CalicoBlock("172.20.255.0/26", "kind-worker", 1) {
			u := obj.(*unstructured.Unstructured)
			_, err := dyn.Resource(schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: strings.ToLower(u.GetKind()) + "s"}).
				Create(ctx, u, metav1.CreateOptions{})
			require.NoError(t, err)
		}
		return false, nil, cs.Tracker().Add(pod)
	})
	// Foreground deletion of the ReplicaSet: its pod goes, and its address back to the block.
	cs.PrependReactor("delete", "replicasets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := a.(k8stesting.DeleteAction).GetName()
		if err := cs.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), a.GetNamespace(), name+"-x"); err == nil {
			b, err := dyn.Resource(kube.CalicoIPAMBlocks).Get(ctx, "172-20-255-0-26", metav1.GetOptions{})
			require.NoError(t, err)
			require.NoError(t, unstructured.SetNestedSlice(b.Object, make([]any, 64), "spec", "allocations"))
			_, err = dyn.Resource(kube.CalicoIPAMBlocks).Update(ctx, b, metav1.UpdateOptions{})
			require.NoError(t, err)
		}
		return false, nil, nil
	})
	return &Cluster{Client: cs, Dynamic: dyn, CNI: "calico"}, cs, dyn
}

func poolNames(t *testing.T, dyn *dynamicfake.FakeDynamicClient) map[string]bool {
	t.Helper()
	list, err := dyn.Resource(kube.CalicoIPPools).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	out := map[string]bool{}
	for _, p := range list.Items {
		disabled, _, _ := unstructured.NestedBool(p.Object, "spec", "disabled")
		out[p.GetName()] = !disabled
	}
	return out
}

func blockCount(t *testing.T, dyn *dynamicfake.FakeDynamicClient) int {
	t.Helper()
	blocks, err := kube.ListIPAMBlocks(context.Background(), dyn)
	require.NoError(t, err)
	return len(blocks)
}

func TestPodCIDROverlapOnCalicoInjectsAndReverts(t *testing.T) {
	ctx := context.Background()
	c, cs, dyn := calicoPoolCluster(t)
	f := PodCIDROverlap{Node: "kind-worker", Pool: "172.20.255.0/26", Image: "netcert.local/probe:dev"}
	revert, err := f.Inject(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"default-ipv4-ippool": true, "netcert-fault-pool": true}, poolNames(t, dyn),
		"the fault's pool exists beside the default pool, which stays enabled")
	pod, err := cs.CoreV1().Pods("netcert-system").Get(ctx, PodCIDROverlapWorkload+"-x", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, `["netcert-fault-pool"]`, pod.Annotations["cni.projectcalico.org/ipv4pools"], "the pod was pinned to the pool")
	assert.Equal(t, map[string]string{"kubernetes.io/hostname": "kind-worker"}, pod.Spec.NodeSelector)
	rs, err := cs.AppsV1().ReplicaSets("netcert-system").Get(ctx, PodCIDROverlapWorkload, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "netcert.local/probe:dev", rs.Spec.Template.Spec.Containers[0].Image)
	assert.NotContains(t, rs.Spec.Template.Annotations, "cni.projectcalico.org/ipv4pools", "later pods are not pinned")
	assert.Equal(t, 1, blockCount(t, dyn))

	_, err = f.Inject(ctx, c)
	assert.ErrorContains(t, err, "IPPool netcert-fault-pool already exists")

	require.NoError(t, revert(ctx))
	require.NoError(t, revert(ctx), "idempotent")
	assert.Equal(t, map[string]bool{"default-ipv4-ippool": true}, poolNames(t, dyn))
	_, err = cs.AppsV1().ReplicaSets("netcert-system").Get(ctx, PodCIDROverlapWorkload, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	assert.Zero(t, blockCount(t, dyn), "the pool's empty block is released: Calico would go on routing it")
}

// A run killed while the Calico variant is in: Clean finds the fault's pool and workload by their
// names and reverts them as the revert would.
func TestPodCIDROverlapOnCalicoClean(t *testing.T) {
	ctx := context.Background()
	c, cs, dyn := calicoPoolCluster(t)
	_, err := PodCIDROverlap{Node: "kind-worker", Pool: "172.20.255.0/26", Image: "x"}.Inject(ctx, c)
	require.NoError(t, err)
	cleaned, err := Clean(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"pod-cidr-overlap (IPPool netcert-fault-pool and its workload)"}, cleaned)
	assert.Equal(t, map[string]bool{"default-ipv4-ippool": true}, poolNames(t, dyn))
	_, err = cs.AppsV1().ReplicaSets("netcert-system").Get(ctx, PodCIDROverlapWorkload, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	assert.Zero(t, blockCount(t, dyn))
	cleaned, err = Clean(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, cleaned, "nothing left")
}

func TestPodCIDROverlapOnCalicoRefusesBadInputAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	c, _, dyn := calicoPoolCluster(t)
	for pool, want := range map[string]string{"": `pool ""`, "8.8.8.0/24": `pool "8.8.8.0/24": want a private CIDR`} {
		_, err := PodCIDROverlap{Pool: pool, Image: "x"}.Inject(ctx, c)
		assert.ErrorContains(t, err, want)
	}
	_, err := PodCIDROverlap{Pool: "172.20.255.0/26"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "needs an image")

	c.Client.(*fake.Clientset).PrependReactor("create", "replicasets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("quota exceeded")
	})
	_, err = PodCIDROverlap{Pool: "172.20.255.0/26", Image: "x"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "quota exceeded")
	assert.Equal(t, map[string]bool{"default-ipv4-ippool": true}, poolNames(t, dyn), "reverted at once: the pool is gone")
}
