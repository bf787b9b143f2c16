package faults

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/node"
)

// PodOnNode picks a running pod, by label selector in a namespace, on one node: the pod whose
// interface a fault breaks.
type PodOnNode struct {
	Node      string
	Namespace string
	Selector  string // a label selector, e.g. app.kubernetes.io/name=netcert-probe,netcert.io/probe-set=b
}

// vethScript prints the network namespace of the pod whose eth0 holds the address $1 and the
// host end of its veth: it looks for that address in every named network namespace, then for
// the host interface whose index is the pod's eth0's peer (eth0@ifN).
const vethScript = `for ns in $(ip netns list | cut -d' ' -f1); do
  if ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | grep -q " inet $1/"; then
    idx=$(ip -n "$ns" -o link show dev eth0 | sed -n 's/^[0-9]*: eth0@if\([0-9]*\):.*/\1/p')
    echo "$ns $(ip -o link show | sed -n "s/^$idx: \([^:@]*\).*/\1/p")"; exit 0
  fi
done; exit 1`

// veth returns the node and the host end of the pod's veth.
func (p PodOnNode) veth(ctx context.Context, c *Cluster) (node.Node, string, error) {
	n, iface, err := p.iface(ctx, c)
	return n, iface.veth, err
}

// podIface is a pod's network namespace and the host end of its veth.
type podIface struct{ netns, veth string }

// iface returns the node, the pod's network namespace and the host end of its veth.
func (p PodOnNode) iface(ctx context.Context, c *Cluster) (node.Node, podIface, error) {
	n, err := c.nodeNamed(p.Node)
	if err != nil {
		return nil, podIface{}, err
	}
	if c.Client == nil {
		return nil, podIface{}, fmt.Errorf("finding pod %s on %s needs the API", p.Selector, p.Node)
	}
	pods, err := c.Client.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{LabelSelector: p.Selector, FieldSelector: "spec.nodeName=" + p.Node})
	if err != nil {
		return nil, podIface{}, fmt.Errorf("list pods %s in %s: %w", p.Selector, p.Namespace, err)
	}
	for _, pod := range pods.Items {
		if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" || pod.Spec.HostNetwork {
			continue
		}
		out, err := node.Run(ctx, n, "sh", "-c", vethScript, "netcert-veth", pod.Status.PodIP)
		if err != nil {
			return nil, podIface{}, fmt.Errorf("the veth of pod %s/%s (%s) on %s: %w", pod.Namespace, pod.Name, pod.Status.PodIP, p.Node, err)
		}
		if ns, veth, ok := strings.Cut(strings.TrimSpace(out), " "); ok && veth != "" {
			return n, podIface{netns: ns, veth: veth}, nil
		}
	}
	return nil, podIface{}, fmt.Errorf("no running pod %s in %s on %s with a veth", p.Selector, p.Namespace, p.Node)
}
