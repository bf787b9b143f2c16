package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
)

// flannelVXLANConfigMap returns Flannel's ConfigMap with a VXLAN backend for network.
func flannelVXLANConfigMap(network string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: flannelNamespace, Name: flannelConfigMap},
		Data: map[string]string{flannelNetConf: fmt.Sprintf("{\n  \"Network\": %q,\n  \"Backend\": {\"Type\": \"vxlan\"}\n}\n", network)}}
}

// felixConfiguration returns the FelixConfiguration default, with vxlanPort when port is not 0.
func felixConfiguration(port int64) *unstructured.Unstructured {
	spec := map[string]any{"logSeverityScreen": "Info"}
	if port != 0 {
		spec["vxlanPort"] = port
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "FelixConfiguration",
		"metadata": map[string]any{"name": "default"}, "spec": spec}}
}

func TestReadIPPools(t *testing.T) {
	c := &Cluster{Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false),
		kubetest.CalicoPool("old", "10.250.1.7/24", "", true))}
	pools, ev, err := readIPPools(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, []ipPool{{Name: "default-ipv4-ippool", CIDR: netip.MustParsePrefix("10.248.0.0/16"), VXLANMode: "Always"},
		{Name: "old", CIDR: netip.MustParsePrefix("10.250.1.0/24"), VXLANMode: "Never", Disabled: true}}, pools)
	assert.Equal(t, "IPPool default-ipv4-ippool 10.248.0.0/16 vxlanMode=Always\nIPPool old 10.250.1.0/24 vxlanMode=Never disabled", ev.Output)

	_, _, err = readIPPools(context.Background(), &Cluster{Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("bad", "10.248.0.0", "Always", false))})
	assert.ErrorContains(t, err, `IPPool bad: cidr "10.248.0.0"`)
	_, _, err = readIPPools(context.Background(), &Cluster{})
	assert.ErrorContains(t, err, "no dynamic Kubernetes client")
}

func TestOverlayPortFromTheCluster(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		c    *Cluster
		want int
	}{
		{"flannel vxlan", &Cluster{CNI: "flannel", Client: fake.NewClientset(flannelVXLANConfigMap("10.244.0.0/16"))}, 8472},
		{"calico default port", &Cluster{CNI: "calico", Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("p", "10.248.0.0/16", "Always", false))}, 4789},
		{"calico felix port", &Cluster{CNI: "calico", Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("p", "10.248.0.0/16", "CrossSubnet", false), felixConfiguration(4790))}, 4790},
		{"calico without vxlan", &Cluster{CNI: "calico", Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("p", "10.248.0.0/16", "Never", false),
			kubetest.CalicoPool("q", "10.249.0.0/16", "Always", true))}, 0},
	} {
		port, ev, err := overlayPort(ctx, tc.c)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, port, tc.name)
		assert.NotEmpty(t, ev, tc.name)
	}
	hostGW := flannelVXLANConfigMap("10.244.0.0/16")
	hostGW.Data[flannelNetConf] = `{"Network": "10.244.0.0/16", "Backend": {"Type": "host-gw"}}`
	port, _, err := overlayPort(ctx, &Cluster{CNI: "flannel", Client: fake.NewClientset(hostGW)})
	require.NoError(t, err)
	assert.Zero(t, port, "host-gw carries no overlay")
	custom := flannelVXLANConfigMap("10.244.0.0/16")
	custom.Data[flannelNetConf] = `{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "Port": 4789}}`
	port, _, err = overlayPort(ctx, &Cluster{CNI: "flannel", Client: fake.NewClientset(custom)})
	require.NoError(t, err)
	assert.Equal(t, 4789, port)
}

func TestOverlayPortBlockedNotApplicableWithoutAnOverlay(t *testing.T) {
	c := &Cluster{CNI: "calico", Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("p", "10.248.0.0/16", "Never", false))}
	findings, err := OverlayPortBlocked{}.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, NotApplicable, findings[0].Status)
	plan, err := OverlayPortBlocked{}.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestPodCIDROverlapReadsCalicoIPPools(t *testing.T) {
	api := overlapAPI{cp: "10.250.0.2", worker: "10.250.0.3", cpCIDR: "10.250.128.0/24", wCIDR: "10.250.129.0/24",
		network: "10.250.128.0/17", service: "10.96.0.0/16"}
	c, _, _ := overlapCluster(t, api, "overlap-cp", "overlap-worker")
	c.CNI = "calico"
	c.Dynamic = kubetest.CalicoDynamic(kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false),
		kubetest.CalicoPool("vlan", "10.250.192.0/18", "Always", false))
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.NotEmpty(t, failed)
	var objects []string
	for _, f := range failed {
		objects = append(objects, f.Object)
	}
	assert.Contains(t, objects, "pod network 10.250.192.0/18")
	for _, f := range failed {
		if f.Object == "pod network 10.250.192.0/18" {
			assert.Contains(t, f.Summary, "the pod network 10.250.192.0/18 (Calico IPPool vlan) overlaps the node network 10.250.0.0/16")
			assert.Equal(t, []string{"10.250.192.0/18"}, f.Ranges, "the traffic that goes astray: to and from the pool")
		}
	}
}

// calicoPod is a pod with an address, owned by a ReplicaSet unless owner is "".
func calicoPod(name, ip, owner string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	if owner != "" {
		yes := true
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, UID: "rs-1", Controller: &yes}}
	}
	return pod
}

// calicoOverlapCluster is a Calico cluster on the node network 10.250.0.0/16 whose IPPool vlan
// (10.250.192.0/18) overlaps it, with a pod of a ReplicaSet and a bare pod allocated from it, each
// from a block of its own, and an empty block. A deleted pod's address goes back to its block,
// as the CNI's DEL does.
func calicoOverlapCluster(t *testing.T, withValidPool bool) (*Cluster, *fake.Clientset, *dynamicfake.FakeDynamicClient) {
	api := overlapAPI{cp: "10.250.0.2", worker: "10.250.0.3", cpCIDR: "10.248.0.0/24", wCIDR: "10.248.1.0/24",
		network: "10.248.0.0/16", service: "10.96.0.0/16"}
	c, _, _ := overlapCluster(t, api, "overlap-cp", "overlap-worker")
	cs := fake.NewClientset(append(api.objects(), calicoPod("web-1", "10.250.192.5", "web"), calicoPod("bare", "10.250.192.70", ""),
		calicoPod("ok", "10.248.1.4", "ok"))...)
	objs := []runtime.Object{kubetest.CalicoPool("vlan", "10.250.192.0/18", "Always", false)}
	if withValidPool {
		objs = append(objs, kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false))
	}
	objs = append(objs, kubetest.CalicoBlock("10.250.192.0/26", "kind-worker", 1)...)
	objs = append(objs, kubetest.CalicoBlock("10.250.192.64/26", "kind-control-plane", 1)...)
	objs = append(objs, kubetest.CalicoBlock("10.250.192.128/26", "kind-worker", 0)...)
	objs = append(objs, kubetest.CalicoBlock("10.248.1.0/26", "kind-worker", 1)...)
	dyn := kubetest.CalicoDynamic(objs...)
	blockOf := map[string]string{"web-1": "10-250-192-0-26", "bare": "10-250-192-64-26"}
	releaseBlock := func(pod string) {
		if name := blockOf[pod]; name != "" {
			b, err := dyn.Resource(kube.CalicoIPAMBlocks).Get(context.Background(), name, metav1.GetOptions{})
			require.NoError(t, err)
			require.NoError(t, unstructured.SetNestedSlice(b.Object, make([]any, 64), "spec", "allocations"))
			_, err = dyn.Resource(kube.CalicoIPAMBlocks).Update(context.Background(), b, metav1.UpdateOptions{})
			require.NoError(t, err)
		}
	}
	cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		releaseBlock(a.(k8stesting.DeleteAction).GetName())
		return false, nil, nil
	})
	// An allowed eviction deletes the pod, as the API server does.
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		ev := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		releaseBlock(ev.Name)
		return true, nil, cs.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ev.Namespace, ev.Name)
	})
	c.CNI, c.Client, c.Dynamic = "calico", cs, dyn
	return c, cs, dyn
}

func TestPodCIDROverlapCalicoPoolRepair(t *testing.T) {
	ctx := context.Background()
	c, cs, dyn := calicoOverlapCluster(t, true)
	findings, err := PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1, "%v", findings)
	assert.Equal(t, "pod network 10.250.192.0/18", failed[0].Object)
	assert.Equal(t, "the pod network 10.250.192.0/18 (Calico IPPool vlan) overlaps the node network 10.250.0.0/16 "+
		"(kind-control-plane eth0 10.250.0.2/16, kind-worker eth0 10.250.0.3/16): Calico gives pods addresses from it that "+
		"collide with those addresses; 2 pod(s) have addresses from it: default/bare 10.250.192.70, default/web-1 10.250.192.5; "+
		"Calico routes its IPAM block 10.250.192.0/26 (kind-worker, 1 address(es) in use), block 10.250.192.64/26 "+
		"(kind-control-plane, 1 address(es) in use), block 10.250.192.128/26 (kind-worker, 0 address(es) in use) to their nodes, empty or not",
		failed[0].Summary)

	p := PodCIDROverlap{RecycleTimeout: time.Second, PollInterval: time.Millisecond}
	plan, err := p.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Empty(t, plan.Manual)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, "ippool/vlan", plan.Actions[0].Object)
	assert.Equal(t, "keep IPPool default-ipv4-ippool, which overlaps nothing; disable IPPool vlan; recycle the pods a controller "+
		"re-creates, through the Eviction API (as their PodDisruptionBudgets allow): 1 pod(s) have addresses from it: default/web-1 10.250.192.5; release its IPAM blocks once they are empty: "+
		"block 10.250.192.0/26 (kind-worker, 1 address(es) in use), block 10.250.192.128/26 (kind-worker, 0 address(es) in use); NOT recycled, no controller owns them (delete "+
		"and re-create them yourself): 1 pod(s) have addresses from it: default/bare 10.250.192.70", plan.Actions[0].Summary)
	assert.Equal(t, [][]string{
		{"kubectl", "patch", "ippools.crd.projectcalico.org", "vlan", "--type=merge", "-p", `{"spec":{"disabled":true}}`},
		kube.EvictionArgv(corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1"}}),
		{"kubectl", "delete", "ipamblocks.crd.projectcalico.org", "10-250-192-0-26"},
		{"kubectl", "delete", "blockaffinities.crd.projectcalico.org", "kind-worker-10-250-192-0-26"},
		{"kubectl", "delete", "ipamblocks.crd.projectcalico.org", "10-250-192-128-26"},
		{"kubectl", "delete", "blockaffinities.crd.projectcalico.org", "kind-worker-10-250-192-128-26"},
	}, plan.Actions[0].Argv)

	rec, err := p.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)
	assert.Contains(t, rec.Steps[0].Evidence[0].Output, "left for a person: 1 pod(s) have addresses from it: default/bare")
	netcertCalls := slices.DeleteFunc(append(cs.Actions(), dyn.Actions()...), func(a k8stesting.Action) bool {
		return a.GetVerb() == "update" && a.GetResource() == kube.CalicoIPAMBlocks // the test's stand-in for Calico's IPAM
	})
	assert.Empty(t, kubetest.Disallowed(t, netcertCalls, "netcert-doctor", "netcert-repair"), "fixtures/netcert-rbac.yaml's roles allow what the repair calls")
	pool, err := dyn.Resource(calicoIPPools).Get(ctx, "vlan", metav1.GetOptions{})
	require.NoError(t, err)
	disabled, _, _ := unstructured.NestedBool(pool.Object, "spec", "disabled")
	assert.True(t, disabled)
	_, err = cs.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "recycled")
	_, err = cs.CoreV1().Pods("default").Get(ctx, "bare", metav1.GetOptions{})
	assert.NoError(t, err, "a pod without a controller is left alone")
	assert.Equal(t, []string{"10.248.1.0/26", "10.250.192.64/26"}, blockCIDRs(t, dyn), "the empty blocks are released, the bare pod's stays")

	rec, err = p.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.False(t, rec.Steps[0].Changed, "idempotent")

	// The person deletes the bare pod: its block is empty, but Calico still routes it.
	require.NoError(t, cs.CoreV1().Pods("default").Delete(ctx, "bare", metav1.DeleteOptions{}))
	findings, err = p.Run(ctx, c)
	require.NoError(t, err)
	failed = Failed(findings)
	require.Len(t, failed, 1, "a disabled pool with a block is still a pod range")
	assert.Contains(t, failed[0].Summary, "no pod has an address from it yet; Calico routes its IPAM block 10.250.192.64/26 (kind-control-plane, 0 address(es) in use)")
	plan, err = p.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, "keep IPPool default-ipv4-ippool, which overlaps nothing; release its IPAM blocks once they are empty: "+
		"block 10.250.192.64/26 (kind-control-plane, 0 address(es) in use); then delete IPPool vlan (Felix does not SNAT pods' "+
		"traffic to a pool's range, even a disabled pool's)", plan.Actions[0].Summary)
	rec, err = p.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.True(t, rec.Steps[0].Changed)
	assert.Equal(t, []string{"10.248.1.0/26"}, blockCIDRs(t, dyn))
	_, err = dyn.Resource(calicoIPPools).Get(ctx, "vlan", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the emptied pool is deleted")
	findings, err = p.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
	rec, err = p.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.False(t, rec.Steps[0].Changed, "idempotent")
}

func blockCIDRs(t *testing.T, dyn *dynamicfake.FakeDynamicClient) []string {
	t.Helper()
	blocks, err := kube.ListIPAMBlocks(context.Background(), dyn)
	require.NoError(t, err)
	var out []string
	for _, b := range blocks {
		out = append(out, b.CIDR.String())
	}
	sort.Strings(out)
	return out
}

// calicoPlan runs the check and plans its repair, with short waits.
func calicoPlan(t *testing.T, c *Cluster) (PodCIDROverlap, Plan) {
	t.Helper()
	p := PodCIDROverlap{RecycleTimeout: time.Second, PollInterval: time.Millisecond}
	findings, err := p.Run(context.Background(), c)
	require.NoError(t, err)
	plan, err := p.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	return p, plan
}

func TestPodCIDROverlapCalicoPoolRepairCreatesAValidPool(t *testing.T) {
	ctx := context.Background()
	c, _, dyn := calicoOverlapCluster(t, false)
	p, plan := calicoPlan(t, c)
	require.Len(t, plan.Actions, 1)
	assert.Contains(t, plan.Actions[0].Summary, "create IPPool netcert-ippool 10.244.0.0/16 (vxlanMode Always), which overlaps nothing netcert saw; disable IPPool vlan")
	_, err := p.Apply(ctx, c, plan)
	require.NoError(t, err)
	created, err := dyn.Resource(calicoIPPools).Get(ctx, "netcert-ippool", metav1.GetOptions{})
	require.NoError(t, err)
	cidr, _, _ := unstructured.NestedString(created.Object, "spec", "cidr")
	assert.Equal(t, "10.244.0.0/16", cidr)
}

// A pod whose replacement would ask for the overlapping pool (its ReplicaSet's template, or its
// namespace, pins the pool) is not recycled: it would come back without an address. A pod that
// still carries a pin its template no longer has is recycled.
func TestPodCIDROverlapCalicoRepairLeavesPodsPinnedToThePool(t *testing.T) {
	ctx := context.Background()
	c, cs, dyn := calicoOverlapCluster(t, true)
	pinned := `["vlan"]`
	rs := func(name string, annotations map[string]string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: annotations}}}}
	}
	_, err := cs.AppsV1().ReplicaSets("default").Create(ctx, rs("web", map[string]string{calicoIPv4PoolsAnnotation: `["10.250.192.0/18"]`}), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.AppsV1().ReplicaSets("default").Create(ctx, rs("unpinned", nil), metav1.CreateOptions{})
	require.NoError(t, err)
	was := calicoPod("was-pinned", "10.250.192.9", "unpinned")
	was.Annotations = map[string]string{calicoIPv4PoolsAnnotation: pinned}
	_, err = cs.CoreV1().Pods("default").Create(ctx, was, metav1.CreateOptions{})
	require.NoError(t, err)

	p, plan := calicoPlan(t, c)
	require.Len(t, plan.Actions, 1)
	summary := plan.Actions[0].Summary
	assert.Contains(t, summary, "recycle the pods a controller re-creates, through the Eviction API (as their PodDisruptionBudgets allow): 1 pod(s) have addresses from it: default/was-pinned 10.250.192.9")
	assert.Contains(t, summary, "NOT recycled, pinned to IPPool vlan by their cni.projectcalico.org/ipv4pools annotation "+
		"(take the pool out of their controller's pod template, then delete them): 1 pod(s) have addresses from it: default/web-1 10.250.192.5")
	assert.NotContains(t, summary, "then delete IPPool vlan")
	assert.NotContains(t, plan.Actions[0].Argv, kube.EvictionArgv(corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1"}}))

	rec, err := p.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.Contains(t, rec.Steps[0].Evidence[0].Output, "left for a person: 2 pod(s) have addresses from it: default/bare 10.250.192.70, default/web-1 10.250.192.5")
	_, err = cs.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
	assert.NoError(t, err, "the pinned pod stays")
	_, err = cs.CoreV1().Pods("default").Get(ctx, "was-pinned", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "recycled: its template no longer pins the pool")
	pool, err := dyn.Resource(calicoIPPools).Get(ctx, "vlan", metav1.GetOptions{})
	require.NoError(t, err, "the pool stays, disabled")
	disabled, _, _ := unstructured.NestedBool(pool.Object, "spec", "disabled")
	assert.True(t, disabled)

	// The namespace pins the pool; the template says nothing.
	_, err = cs.AppsV1().ReplicaSets("default").Update(ctx, rs("web", nil), metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default",
		Annotations: map[string]string{calicoIPv4PoolsAnnotation: pinned}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, plan = calicoPlan(t, c)
	require.Len(t, plan.Actions, 1)
	assert.Contains(t, plan.Actions[0].Summary, "pinned to IPPool vlan by their cni.projectcalico.org/ipv4pools annotation")
}

func TestPodCIDROverlapCalicoApplyRefusesAChangedCluster(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := calicoOverlapCluster(t, true)
	p, plan := calicoPlan(t, c)
	_, err := cs.CoreV1().Pods("default").Create(ctx, calicoPod("web-2", "10.250.192.7", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = p.Apply(ctx, c, plan)
	assert.ErrorContains(t, err, "IPPool vlan or its pods changed since the plan")
}

// A disabled pool with no address and no block is how people mark a range as a destination that
// pods reach without SNAT: it is no pod range, and the check leaves it alone.
func TestPodCIDROverlapIgnoresADisabledEmptyPool(t *testing.T) {
	api := overlapAPI{cp: "10.250.0.2", worker: "10.250.0.3", cpCIDR: "10.248.0.0/24", wCIDR: "10.248.1.0/24",
		network: "10.248.0.0/16", service: "10.96.0.0/16"}
	c, _, _ := overlapCluster(t, api, "overlap-cp", "overlap-worker")
	c.CNI = "calico"
	c.Client = fake.NewClientset(api.objects()...)
	c.Dynamic = kubetest.CalicoDynamic(append(kubetest.CalicoBlock("10.248.1.0/26", "kind-worker", 2),
		kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false),
		kubetest.CalicoPool("vpc-no-snat", "10.250.0.0/16", "Never", true))...)
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings), "%v", findings)
}
