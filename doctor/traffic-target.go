package doctor

import (
	"context"
	"fmt"
	"net"
	"slices"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trafficTarget says where traffic to addr ends: the Service whose cluster IP it is
// ("namespace/name") and the nodes of that Service's ready endpoints, or the node of the pod
// that has it. Neither, for an address outside the cluster.
func trafficTarget(ctx context.Context, c *Cluster, addr string) (service string, nodes []string, err error) {
	host := addr
	if h, _, splitErr := net.SplitHostPort(addr); splitErr == nil {
		host = h
	}
	svcs, err := c.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("list Services: %w", err)
	}
	for _, s := range svcs.Items {
		if !slices.Contains(append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...), host) || host == "" {
			continue
		}
		eps, err := c.Client.DiscoveryV1().EndpointSlices(s.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + s.Name})
		if err != nil {
			return "", nil, fmt.Errorf("list EndpointSlices of %s/%s: %w", s.Namespace, s.Name, err)
		}
		for _, es := range eps.Items {
			for _, ep := range es.Endpoints {
				ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
				if ready && ep.NodeName != nil {
					nodes = append(nodes, *ep.NodeName)
				}
			}
		}
		return s.Namespace + "/" + s.Name, uniqueSorted(nodes), nil
	}
	pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.podIP=" + host})
	if err != nil {
		return "", nil, fmt.Errorf("list the pod of %s: %w", host, err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" && !p.Spec.HostNetwork {
			nodes = append(nodes, p.Spec.NodeName)
		}
	}
	return "", uniqueSorted(nodes), nil
}

func uniqueSorted(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
