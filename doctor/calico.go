package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/netcert/netcert/kube"
)

// Calico's resources, as the kube package names them.
var (
	calicoIPPools  = kube.CalicoIPPools
	calicoFelixCfg = kube.CalicoFelixConfiguration
)

// calicoDefaultVXLANPort is Felix's vxlanPort when FelixConfiguration does not set it.
const calicoDefaultVXLANPort = 4789

// ipPool is one Calico IPPool, reduced to what netcert reasons about.
type ipPool struct {
	Name      string
	CIDR      netip.Prefix // masked
	VXLANMode string       // Always, CrossSubnet or Never ("" reads as Never)
	Disabled  bool
	// NodeSelector chooses the nodes whose pods get addresses from the pool ("" reads as all()).
	NodeSelector string
}

// vxlan reports whether the pool's traffic between nodes may use VXLAN.
func (p ipPool) vxlan() bool { return p.VXLANMode == "Always" || p.VXLANMode == "CrossSubnet" }

func (p ipPool) String() string {
	s := fmt.Sprintf("IPPool %s %s vxlanMode=%s", p.Name, p.CIDR, p.VXLANMode)
	if p.Disabled {
		s += " disabled"
	}
	if sel := strings.TrimSpace(p.NodeSelector); sel != "" && sel != "all()" {
		s += fmt.Sprintf(" nodeSelector=%q", sel)
	}
	return s
}

// readIPPools lists Calico's IPPools.
func readIPPools(ctx context.Context, c *Cluster) ([]ipPool, Evidence, error) {
	ev := Evidence{Source: "LIST " + calicoIPPools.GroupResource().String()}
	if c.Dynamic == nil {
		return nil, ev, fmt.Errorf("no dynamic Kubernetes client to read Calico's IPPools")
	}
	list, err := c.Dynamic.Resource(calicoIPPools).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, ev, fmt.Errorf("list Calico IPPools: %w", err)
	}
	var pools []ipPool
	var lines []string
	for _, item := range list.Items {
		cidr, _, _ := unstructured.NestedString(item.Object, "spec", "cidr")
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, ev, fmt.Errorf("IPPool %s: cidr %q: %w", item.GetName(), cidr, err)
		}
		pool := ipPool{Name: item.GetName(), CIDR: p.Masked()}
		pool.VXLANMode, _, _ = unstructured.NestedString(item.Object, "spec", "vxlanMode")
		pool.Disabled, _, _ = unstructured.NestedBool(item.Object, "spec", "disabled")
		pool.NodeSelector, _, _ = unstructured.NestedString(item.Object, "spec", "nodeSelector")
		if pool.VXLANMode == "" {
			pool.VXLANMode = "Never"
		}
		pools = append(pools, pool)
		lines = append(lines, pool.String())
	}
	ev.Output = strings.Join(lines, "\n")
	if len(pools) == 0 {
		ev.Output = "no IPPool"
	}
	return pools, ev, nil
}

// calicoVXLANPort reads Felix's VXLAN port from the FelixConfiguration named default.
func calicoVXLANPort(ctx context.Context, c *Cluster) (int, Evidence, error) {
	ev := Evidence{Source: "GET " + calicoFelixCfg.GroupResource().String() + "/default (spec.vxlanPort)"}
	if c.Dynamic == nil {
		return 0, ev, fmt.Errorf("no dynamic Kubernetes client to read Calico's FelixConfiguration")
	}
	cfg, err := c.Dynamic.Resource(calicoFelixCfg).Get(ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		ev.Output = fmt.Sprintf("no FelixConfiguration default: Felix uses udp/%d", calicoDefaultVXLANPort)
		return calicoDefaultVXLANPort, ev, nil
	}
	if err != nil {
		return 0, ev, fmt.Errorf("read Calico's FelixConfiguration default: %w", err)
	}
	port, found, err := unstructured.NestedInt64(cfg.Object, "spec", "vxlanPort")
	if err != nil {
		return 0, ev, fmt.Errorf("FelixConfiguration default: spec.vxlanPort: %w", err)
	}
	if !found {
		ev.Output = fmt.Sprintf("vxlanPort not set: Felix uses udp/%d", calicoDefaultVXLANPort)
		return calicoDefaultVXLANPort, ev, nil
	}
	ev.Output = fmt.Sprintf("vxlanPort: %d", port)
	return int(port), ev, nil
}

// podsIn returns the pods (not on the host network) with an address in prefix.
func podsIn(pods []corev1.Pod, prefix netip.Prefix) []corev1.Pod {
	var out []corev1.Pod
	for _, pod := range pods {
		for _, ip := range pod.Status.PodIPs {
			if a, err := netip.ParseAddr(ip.IP); err == nil && !pod.Spec.HostNetwork && prefix.Contains(a) {
				out = append(out, pod)
				break
			}
		}
	}
	return out
}

// podList names the pods and their addresses, or says none.
func podList(pods []corev1.Pod, none string) string {
	if len(pods) == 0 {
		return none
	}
	var s []string
	for _, pod := range pods {
		s = append(s, pod.Namespace+"/"+pod.Name+" "+pod.Status.PodIP)
	}
	return fmt.Sprintf("%d pod(s) have addresses from it: %s", len(pods), strings.Join(s, ", "))
}

// blockList names IPAM blocks.
func blockList(blocks []kube.IPAMBlock) string {
	s := make([]string, len(blocks))
	for i, b := range blocks {
		s[i] = b.String()
	}
	return strings.Join(s, ", ")
}

// calicoIPv4PoolsAnnotation pins a pod (or a namespace's pods) to IPPools, by name or CIDR.
const calicoIPv4PoolsAnnotation = "cni.projectcalico.org/ipv4pools"

// replacementPinned: the pod its controller would make in the pod's place asks for the pool, by
// the controller's pod template or, where the template does not say, the namespace's annotation
// (Calico's order). A controller that is gone or of an unknown kind counts as the pod itself.
func replacementPinned(ctx context.Context, c *Cluster, pod corev1.Pod, pool ipPool) (bool, error) {
	annotations, err := templateAnnotations(ctx, c, pod)
	if err != nil {
		return false, err
	}
	if pools, ok := annotations[calicoIPv4PoolsAnnotation]; ok {
		return namesPool(pools, pool), nil
	}
	ns, err := c.Client.CoreV1().Namespaces().Get(ctx, pod.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read namespace %s: %w", pod.Namespace, err)
	}
	return namesPool(ns.Annotations[calicoIPv4PoolsAnnotation], pool), nil
}

// templateAnnotations are the annotations of the pod template of the pod's controller.
func templateAnnotations(ctx context.Context, c *Cluster, pod corev1.Pod) (map[string]string, error) {
	ref := metav1.GetControllerOf(&pod)
	if ref == nil {
		return pod.Annotations, nil
	}
	var template *corev1.PodTemplateSpec
	var err error
	apps, opts := c.Client.AppsV1(), metav1.GetOptions{}
	switch ref.Kind {
	case "ReplicaSet":
		var o *appsv1.ReplicaSet
		if o, err = apps.ReplicaSets(pod.Namespace).Get(ctx, ref.Name, opts); err == nil {
			template = &o.Spec.Template
		}
	case "DaemonSet":
		var o *appsv1.DaemonSet
		if o, err = apps.DaemonSets(pod.Namespace).Get(ctx, ref.Name, opts); err == nil {
			template = &o.Spec.Template
		}
	case "StatefulSet":
		var o *appsv1.StatefulSet
		if o, err = apps.StatefulSets(pod.Namespace).Get(ctx, ref.Name, opts); err == nil {
			template = &o.Spec.Template
		}
	default:
		return pod.Annotations, nil
	}
	if apierrors.IsNotFound(err) {
		return pod.Annotations, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s/%s: %w", ref.Kind, pod.Namespace, ref.Name, err)
	}
	return template.Annotations, nil
}

// namesPool: an ipv4pools annotation value (a JSON list of pool names or CIDRs) names the pool.
func namesPool(annotation string, pool ipPool) bool {
	var pools []string
	if err := json.Unmarshal([]byte(annotation), &pools); err != nil {
		return false
	}
	return slices.Contains(pools, pool.Name) || slices.Contains(pools, pool.CIDR.String())
}
