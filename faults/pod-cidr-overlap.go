package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// PodCIDROverlap makes a pod range overlap something else.
//
// On Flannel it gives Node a host route more specific than TargetNode's podCIDR, pointing at a
// device the CNI does not own, as a VPC or VLAN range added to the host would: a veth pair
// (ncfault0, its peer ncfault1 left in the node's namespace) and `ip route add <first half of
// the podCIDR> dev ncfault0`. Node then sends what is meant for TargetNode's pods in that half
// into the veth, where it is lost. (A host address with the podCIDR's own prefix does not do it:
// the CNI's route for the podCIDR stays first.) Revert deletes the route and the veth pair.
//
// On Calico it adds an IPPool for Pool, a range inside the node network, and a workload allocated
// from it (see injectPool): Calico then routes that range to pods, and hosts of the node network
// there become unreachable. Revert deletes the workload and the pool.
type PodCIDROverlap struct {
	Node       string // Flannel: the node that gets the route
	TargetNode string // Flannel: the node whose pods become unreachable from Node
	Pool       string // Calico: the CIDR of the fault's IPPool, inside the node network
	Image      string // Calico: the image of the workload allocated from the pool
	Namespace  string // Calico: where the workload runs (default netcert-system)
}

// The devices the fault creates.
const (
	PodCIDROverlapDev  = "ncfault0"
	PodCIDROverlapPeer = "ncfault1"
)

// Name returns "pod-cidr-overlap".
func (PodCIDROverlap) Name() string { return "pod-cidr-overlap" }

// AppliesTo: Flannel, given the nodes of a host route; Calico, given a Pool.
func (f PodCIDROverlap) AppliesTo(cni string) bool {
	if f.Pool != "" {
		return cni == "calico"
	}
	return cni == "flannel"
}

// Inject breaks the cluster as its CNI allows (see the type). If a step fails it reverts at once,
// so a failed Inject leaves nothing behind.
func (f PodCIDROverlap) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	switch c.CNI {
	case "flannel":
		return f.injectRoute(ctx, c)
	case "calico":
		return f.injectPool(ctx, c)
	}
	return nil, fmt.Errorf("%s: no way known to inject it on CNI %q (flannel, calico)", f.Name(), c.CNI)
}

// injectRoute reads TargetNode's podCIDR, creates the veth pair and adds the route.
func (f PodCIDROverlap) injectRoute(ctx context.Context, c *Cluster) (Revert, error) {
	if f.Node == f.TargetNode {
		return nil, fmt.Errorf("%s: node and target node are both %q: the target must be another node", f.Name(), f.Node)
	}
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	dst, err := f.targetHalf(ctx, c)
	if err != nil {
		return nil, err
	}
	links, err := overlapLinks(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	for _, dev := range []string{PodCIDROverlapDev, PodCIDROverlapPeer} {
		if links[dev] {
			return nil, fmt.Errorf("%s: %s already has a device %s (left by an earlier run? remove it with `ip link del %s`)", f.Name(), f.Node, dev, dev)
		}
	}
	// Deleting either end of the veth pair deletes both, and the route through them.
	journal := "ip link del " + PodCIDROverlapDev + " 2>/dev/null || ip link del " + PodCIDROverlapPeer + " 2>/dev/null || true"
	revert, err := journaled(ctx, n, f.Name(), journal, func(ctx context.Context) error {
		if err := f.revert(ctx, n, dst); err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	for _, argv := range [][]string{
		{"ip", "link", "add", PodCIDROverlapDev, "type", "veth", "peer", "name", PodCIDROverlapPeer},
		{"ip", "link", "set", PodCIDROverlapDev, "up"},
		{"ip", "link", "set", PodCIDROverlapPeer, "up"},
		{"ip", "route", "add", dst.String(), "dev", PodCIDROverlapDev},
	} {
		if _, err := node.Run(ctx, n, argv...); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", f.Name(), err), revert(ctx))
		}
	}
	return revert, nil
}

// targetHalf returns the first half of TargetNode's first IPv4 podCIDR (10.244.1.0/24 ->
// 10.244.1.0/25), read from the API.
func (f PodCIDROverlap) targetHalf(ctx context.Context, c *Cluster) (netip.Prefix, error) {
	if c.Client == nil {
		return netip.Prefix{}, fmt.Errorf("%s: no Kubernetes client to read %s's podCIDR", f.Name(), f.TargetNode)
	}
	target, err := c.Client.CoreV1().Nodes().Get(ctx, f.TargetNode, metav1.GetOptions{})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: read target node: %w", f.Name(), err)
	}
	cidrs := kube.PodCIDRs(target)
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%s: node %s: podCIDR %q: %w", f.Name(), f.TargetNode, s, err)
		}
		if p.Addr().Is4() && p.Bits() < 32 {
			return netip.PrefixFrom(p.Masked().Addr(), p.Bits()+1), nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("%s: node %s has no IPv4 podCIDR to overlap (podCIDRs: %v)", f.Name(), f.TargetNode, cidrs)
}

// revert deletes the route and the veth pair, each only if it is still there (a repair may have
// deleted the route already).
func (f PodCIDROverlap) revert(ctx context.Context, n node.Node, dst netip.Prefix) error {
	out, err := node.Run(ctx, n, "ip", "-j", "route", "show", "exact", dst.String())
	if err != nil {
		return err
	}
	var routes []struct {
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return fmt.Errorf("parse ip -j route show: %w", err)
	}
	for _, r := range routes {
		if r.Dev == PodCIDROverlapDev {
			if _, err := node.Run(ctx, n, "ip", "route", "del", dst.String(), "dev", PodCIDROverlapDev); err != nil {
				return err
			}
		}
	}
	links, err := overlapLinks(ctx, n)
	if err != nil {
		return err
	}
	// Deleting either end of a veth pair deletes both.
	for _, dev := range []string{PodCIDROverlapDev, PodCIDROverlapPeer} {
		if links[dev] {
			if _, err := node.Run(ctx, n, "ip", "link", "del", dev); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// overlapLinks returns the names of the node's network devices.
func overlapLinks(ctx context.Context, n node.Node) (map[string]bool, error) {
	out, err := node.Run(ctx, n, "ip", "-j", "link", "show")
	if err != nil {
		return nil, err
	}
	var links []struct {
		IfName string `json:"ifname"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return nil, fmt.Errorf("parse ip -j link show: %w", err)
	}
	names := map[string]bool{}
	for _, l := range links {
		names[l.IfName] = true
	}
	return names, nil
}

// The objects of the Calico variant.
const (
	PodCIDROverlapPool     = "netcert-fault-pool"
	PodCIDROverlapWorkload = "netcert-fault-pool-user"
	// calicoPoolsAnnotation pins a pod to IPPools (Calico's CNI reads it).
	calicoPoolsAnnotation = "cni.projectcalico.org/ipv4pools"
)

// injectPool creates IPPool netcert-fault-pool for Pool and the ReplicaSet
// netcert-fault-pool-user, whose pod is pinned to that pool by Calico's pool annotation (and to
// Node, if set); once the pod has its address it drops the pin from the ReplicaSet's template, so
// a pod the ReplicaSet makes later gets an address from the other pools, as after someone undid
// a namespace's pin to a wrong pool. Pool must be a private range; the other pools are left alone
// (disabling them, even briefly, would move the nodes' VXLAN tunnel addresses).
func (f PodCIDROverlap) injectPool(ctx context.Context, c *Cluster) (Revert, error) {
	cidr, err := netip.ParsePrefix(f.Pool)
	if err != nil || !cidr.Addr().IsPrivate() {
		return nil, fmt.Errorf("%s: pool %q: want a private CIDR inside the node network (e.g. the /26 of a host of kind's Docker network)", f.Name(), f.Pool)
	}
	if f.Image == "" || c.Client == nil || c.Dynamic == nil {
		return nil, fmt.Errorf("%s: on Calico the fault needs an image for its workload and both Kubernetes clients", f.Name())
	}
	_, err = c.Dynamic.Resource(kube.CalicoIPPools).Get(ctx, PodCIDROverlapPool, metav1.GetOptions{})
	if err == nil {
		return nil, fmt.Errorf("%s: IPPool %s already exists (left by an earlier run? delete it with `kubectl delete ippools.crd.projectcalico.org %s`)",
			f.Name(), PodCIDROverlapPool, PodCIDROverlapPool)
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s: read IPPools: %w", f.Name(), err)
	}
	revert := func(ctx context.Context) error {
		if err := f.revertPool(ctx, c, cidr.Masked()); err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	}
	fail := func(err error) (Revert, error) {
		return nil, errors.Join(fmt.Errorf("%s: %w", f.Name(), err), revert(ctx))
	}
	if err := kube.CreateIPPool(ctx, c.Dynamic, PodCIDROverlapPool, cidr, "Always"); err != nil {
		return fail(err)
	}
	if err := f.startWorkload(ctx, c, cidr); err != nil {
		return fail(err)
	}
	return revert, nil
}

func (f PodCIDROverlap) namespace() string {
	if f.Namespace == "" {
		return "netcert-system"
	}
	return f.Namespace
}

var workloadSelector = "app.kubernetes.io/name=" + PodCIDROverlapWorkload

// startWorkload creates the ReplicaSet, waits until its pod has an address in cidr, then drops
// the pool pin from the ReplicaSet's template (the running pod keeps its address).
func (f PodCIDROverlap) startWorkload(ctx context.Context, c *Cluster, cidr netip.Prefix) error {
	one := int32(1)
	labels := map[string]string{"app.kubernetes.io/name": PodCIDROverlapWorkload}
	spec := corev1.PodSpec{
		TerminationGracePeriodSeconds: new(int64),
		Containers:                    []corev1.Container{{Name: "workload", Image: f.Image, ImagePullPolicy: corev1.PullIfNotPresent}},
	}
	if f.Node != "" {
		spec.NodeSelector = map[string]string{"kubernetes.io/hostname": f.Node}
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: PodCIDROverlapWorkload, Namespace: f.namespace(), Labels: labels},
		Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels,
				Annotations: map[string]string{calicoPoolsAnnotation: fmt.Sprintf("[%q]", PodCIDROverlapPool)}}, Spec: spec}},
	}
	rsc := c.Client.AppsV1().ReplicaSets(f.namespace())
	if _, err := rsc.Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create replicaset %s: %w", PodCIDROverlapWorkload, err)
	}
	err := f.waitForPods(ctx, c, func(pods []corev1.Pod) bool {
		for _, pod := range pods {
			if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil && cidr.Contains(ip) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("replicaset %s/%s got no pod with an address in %s: %w", f.namespace(), PodCIDROverlapWorkload, cidr, err)
	}
	unpin := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:null}}}}}`, calicoPoolsAnnotation)
	if _, err := rsc.Patch(ctx, PodCIDROverlapWorkload, types.MergePatchType, []byte(unpin), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("drop the pool pin from replicaset %s: %w", PodCIDROverlapWorkload, err)
	}
	return nil
}

// workloadTimeout bounds the waits for the workload's pod to come up and to be gone.
const workloadTimeout = 2 * time.Minute

// waitForPods polls the workload's pods until done says so, for at most workloadTimeout.
func (f PodCIDROverlap) waitForPods(ctx context.Context, c *Cluster, done func([]corev1.Pod) bool) error {
	deadline := time.Now().Add(workloadTimeout)
	for {
		pods, err := c.Client.CoreV1().Pods(f.namespace()).List(ctx, metav1.ListOptions{LabelSelector: workloadSelector})
		if err != nil {
			return fmt.Errorf("list the workload's pods: %w", err)
		}
		if done(pods.Items) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", workloadTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// revertPool deletes the ReplicaSet, waits for its pods to be gone (their addresses go back to
// the pool), deletes the pool and releases its empty IPAM blocks, which Calico would otherwise go
// on routing to their nodes. Each step only if there is something left to do.
func (f PodCIDROverlap) revertPool(ctx context.Context, c *Cluster, cidr netip.Prefix) error {
	fg := metav1.DeletePropagationForeground
	err := c.Client.AppsV1().ReplicaSets(f.namespace()).Delete(ctx, PodCIDROverlapWorkload, metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete replicaset %s: %w", PodCIDROverlapWorkload, err)
	}
	if err := f.waitForPods(ctx, c, func(pods []corev1.Pod) bool { return len(pods) == 0 }); err != nil {
		return fmt.Errorf("the pods of replicaset %s are not gone: %w", PodCIDROverlapWorkload, err)
	}
	err = c.Dynamic.Resource(kube.CalicoIPPools).Delete(ctx, PodCIDROverlapPool, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete IPPool %s: %w", PodCIDROverlapPool, err)
	}
	blocks, err := kube.ListIPAMBlocks(ctx, c.Dynamic)
	if err != nil {
		return err
	}
	for _, b := range kube.BlocksIn(blocks, cidr) {
		if err := kube.ReleaseEmptyIPAMBlock(ctx, c.Dynamic, b); err != nil {
			return fmt.Errorf("%w (an address of the pool is still in use: release it with calicoctl ipam release)", err)
		}
	}
	return nil
}

// cleanPool reverts the Calico variant when its IPPool or its workload is still there.
func (f PodCIDROverlap) cleanPool(ctx context.Context, c *Cluster) (bool, error) {
	pool, err := c.Dynamic.Resource(kube.CalicoIPPools).Get(ctx, PodCIDROverlapPool, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("%s: read IPPool %s: %w", f.Name(), PodCIDROverlapPool, err)
	}
	_, rsErr := c.Client.AppsV1().ReplicaSets(f.namespace()).Get(ctx, PodCIDROverlapWorkload, metav1.GetOptions{})
	if rsErr != nil && !apierrors.IsNotFound(rsErr) {
		return false, fmt.Errorf("%s: read replicaset %s: %w", f.Name(), PodCIDROverlapWorkload, rsErr)
	}
	if err != nil && rsErr != nil {
		return false, nil // neither is there
	}
	var cidr netip.Prefix
	if err == nil {
		text, _, _ := unstructured.NestedString(pool.Object, "spec", "cidr")
		if cidr, err = netip.ParsePrefix(text); err != nil {
			return false, fmt.Errorf("%s: IPPool %s: spec.cidr %q: %w", f.Name(), PodCIDROverlapPool, text, err)
		}
	}
	if err := f.revertPool(ctx, c, cidr.Masked()); err != nil {
		return false, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return true, nil
}
