package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// relation is how two prefixes of the same family lie to each other.
type relation int

const (
	relDisjoint relation = iota
	relEqual             // the same prefix
	relInside            // the first is more specific than the second and within it
	relContains          // the first is less specific than the second and holds it
)

// relatePrefixes compares two prefixes by their networks (host bits ignored); prefixes of different
// families are disjoint.
func relatePrefixes(a, b netip.Prefix) relation {
	a, b = a.Masked(), b.Masked()
	switch {
	case !a.IsValid() || !b.IsValid() || !a.Overlaps(b):
		return relDisjoint
	case a == b:
		return relEqual
	case a.Bits() > b.Bits():
		return relInside
	default:
		return relContains
	}
}

// Where ranges come from, in netcert's words.
const (
	serviceRangeFlag = "--service-cluster-ip-range"
	controlPlaneRole = "node-role.kubernetes.io/control-plane"
)

// ipRange is one range of the cluster and where it was read.
type ipRange struct {
	Prefix   netip.Prefix // masked
	What     string       // "node kind-worker's podCIDR 10.244.1.0/24", "the Service CIDR 10.96.0.0/16", …
	Node     string       // the node it belongs to, if any
	Pool     *ipPool      // the Calico IPPool it is, if any
	Evidence Evidence
}

// apiRanges are the ranges the Kubernetes API declares.
type apiRanges struct {
	PodCIDRs    []ipRange // Node.Spec.PodCIDRs
	PodNetwork  []ipRange // the CNI's network config (Flannel's net-conf.json "Network")
	Services    []ipRange // kube-apiserver's --service-cluster-ip-range
	InternalIPs map[string][]netip.Addr
	Evidence    []Evidence // every read, skipped sources included
}

// podRanges returns every range that pods use: the pod network, then the nodes' podCIDRs.
func (r *apiRanges) podRanges() []ipRange {
	return append(append([]ipRange(nil), r.PodNetwork...), r.PodCIDRs...)
}

// nodeRoutes is what one node's kernel routes and addresses, with where they were read.
type nodeRoutes struct {
	Name     string
	Addrs    []iproute.Addr
	Routes   []iproute.Route
	Primary  map[string]bool // devices carrying the main default route or the node's InternalIP
	Evidence []Evidence
}

// readAPIRanges reads the podCIDRs and InternalIPs of the nodes, the Service CIDR and, for
// Flannel, its network config. A source that does not exist is noted in the evidence.
func readAPIRanges(ctx context.Context, c *Cluster) (*apiRanges, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("no Kubernetes client to read the cluster's ranges")
	}
	r := &apiRanges{InternalIPs: map[string][]netip.Addr{}}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	ev := Evidence{Source: "LIST nodes (spec.podCIDRs, InternalIP)"}
	var lines, controlPlanes []string
	for _, n := range nodes.Items {
		cidrs := kube.PodCIDRs(&n)
		var ips []string
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == corev1.NodeInternalIP {
				r.InternalIPs[n.Name] = append(r.InternalIPs[n.Name], ip)
				ips = append(ips, a.Address)
			}
		}
		lines = append(lines, fmt.Sprintf("%s podCIDRs=%s InternalIP=%s", n.Name, strings.Join(cidrs, ","), strings.Join(ips, ",")))
		for _, s := range cidrs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("node %s: podCIDR %q: %w", n.Name, s, err)
			}
			r.PodCIDRs = append(r.PodCIDRs, ipRange{Prefix: p.Masked(), Node: n.Name,
				What: fmt.Sprintf("node %s's podCIDR %s", n.Name, p.Masked())})
		}
		if _, ok := n.Labels[controlPlaneRole]; ok {
			controlPlanes = append(controlPlanes, n.Name)
		}
	}
	ev.Output = strings.Join(lines, "\n")
	for i := range r.PodCIDRs {
		r.PodCIDRs[i].Evidence = ev
	}
	r.Evidence = append(r.Evidence, ev)
	if err := r.readServiceCIDR(ctx, c, controlPlanes); err != nil {
		return nil, err
	}
	if err := r.readCNINetwork(ctx, c); err != nil {
		return nil, err
	}
	return r, nil
}

// readServiceCIDR reads --service-cluster-ip-range from the first control-plane node's
// kube-apiserver static pod.
func (r *apiRanges) readServiceCIDR(ctx context.Context, c *Cluster, controlPlanes []string) error {
	for _, cp := range controlPlanes {
		name := "kube-apiserver-" + cp
		pod, err := c.Client.CoreV1().Pods("kube-system").Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read pod kube-system/%s: %w", name, err)
		}
		ev := Evidence{Source: "GET pod kube-system/" + name + " (command line)"}
		for _, ctr := range pod.Spec.Containers {
			for _, arg := range append(append([]string(nil), ctr.Command...), ctr.Args...) {
				value, ok := strings.CutPrefix(arg, serviceRangeFlag+"=")
				if !ok {
					continue
				}
				ev.Output = arg
				for _, s := range strings.Split(value, ",") {
					p, err := netip.ParsePrefix(strings.TrimSpace(s))
					if err != nil {
						return fmt.Errorf("pod kube-system/%s: %s: %w", name, arg, err)
					}
					r.Services = append(r.Services, ipRange{Prefix: p.Masked(), Evidence: ev,
						What: "the Service CIDR " + p.Masked().String()})
				}
			}
		}
		if ev.Output == "" {
			ev.Output = "no " + serviceRangeFlag + " flag: the Service CIDR is not compared"
		}
		r.Evidence = append(r.Evidence, ev)
		return nil
	}
	r.Evidence = append(r.Evidence, Evidence{Source: "GET pod kube-system/kube-apiserver-<control-plane node>",
		Output: fmt.Sprintf("not found (control-plane nodes: %s): the Service CIDR is not compared", strings.Join(controlPlanes, ", "))})
	return nil
}

// readCNINetwork reads the CNI's pod network: Flannel's Network and IPv6Network, or every Calico
// IPPool. Other CNIs' configs are not read, and the evidence says so (their pod network is then
// the nodes' podCIDRs).
func (r *apiRanges) readCNINetwork(ctx context.Context, c *Cluster) error {
	switch c.CNI {
	case "flannel":
		conf, ev, err := readFlannelConfig(ctx, c)
		if err != nil {
			return err
		}
		r.Evidence = append(r.Evidence, ev)
		for _, s := range []string{conf.Network, conf.IPv6Network} {
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("configmap %s/%s: %s: %w", flannelNamespace, flannelConfigMap, flannelNetConf, err)
			}
			r.PodNetwork = append(r.PodNetwork, ipRange{Prefix: p.Masked(), Evidence: ev,
				What: fmt.Sprintf("the pod network %s (Flannel's Network)", p.Masked())})
		}
		if len(r.PodNetwork) == 0 {
			return fmt.Errorf("configmap %s/%s: %s has no Network", flannelNamespace, flannelConfigMap, flannelNetConf)
		}
	case "calico":
		pools, ev, err := readIPPools(ctx, c)
		if err != nil {
			return err
		}
		r.Evidence = append(r.Evidence, ev)
		for _, p := range pools {
			r.PodNetwork = append(r.PodNetwork, ipRange{Prefix: p.CIDR, Evidence: ev, Pool: &p,
				What: fmt.Sprintf("the pod network %s (Calico IPPool %s)", p.CIDR, p.Name)})
		}
	default:
		r.Evidence = append(r.Evidence, Evidence{Source: "CNI network config",
			Output: fmt.Sprintf("skipped: netcert reads the network config of flannel and calico, not of %q; the pod network is the nodes' podCIDRs", c.CNI)})
	}
	return nil
}

// readNodeRoutes reads one node's addresses and routes and finds its primary devices.
func readNodeRoutes(ctx context.Context, n node.Node, internalIPs []netip.Addr) (*nodeRoutes, error) {
	st := &nodeRoutes{Name: n.Name(), Primary: map[string]bool{}}
	out, ev, err := run(ctx, n, iproute.AddrShowArgv...)
	if err != nil {
		return nil, err
	}
	st.Evidence = append(st.Evidence, ev)
	if st.Addrs, err = iproute.ParseAddr([]byte(out)); err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name(), err)
	}
	out, ev, err = run(ctx, n, iproute.RouteShowArgv...)
	if err != nil {
		return nil, err
	}
	st.Evidence = append(st.Evidence, ev)
	if st.Routes, err = iproute.ParseRoute([]byte(out)); err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name(), err)
	}
	for _, r := range st.Routes {
		if r.Default() && r.Table == "main" && r.Type == "unicast" {
			for _, d := range r.Devs() {
				st.Primary[d] = true
			}
		}
	}
	for _, a := range st.Addrs {
		for _, ip := range internalIPs {
			if a.Prefix.Addr() == ip {
				st.Primary[a.Dev] = true
			}
		}
	}
	return st, nil
}

// cniOwned reports whether a device is one the CNI creates (Flannel, Calico, the pods' veths).
func cniOwned(dev string) bool {
	switch dev {
	case "cni0", "tunl0", "vxlan.calico", "vxlan-v6.calico":
		return true
	}
	return strings.HasPrefix(dev, "flannel") || strings.HasPrefix(dev, "cali") || strings.HasPrefix(dev, "veth")
}

// hostRoutes returns the node's routes that are the host's own: not the local table's
// address-derived entries, not the default route, not on a CNI device, not Calico's (proto bird,
// 80), not a host-gw route to another node's podCIDR via its InternalIP, and not the kernel route
// of one of the node's addresses (the address stands for it).
func hostRoutes(api *apiRanges, st *nodeRoutes) []iproute.Route {
	var out []iproute.Route
	for _, r := range st.Routes {
		switch {
		case r.Table == "local", r.Default(), r.Protocol == "bird", r.Protocol == "80":
			continue
		case r.Type != "unicast" && r.Type != "blackhole" && r.Type != "unreachable" && r.Type != "prohibit":
			continue
		case allCNIOwned(r.Devs()), cniHostGateway(api, r), addressRoute(st, r):
			continue
		}
		out = append(out, r)
	}
	return out
}

func allCNIOwned(devs []string) bool {
	for _, d := range devs {
		if !cniOwned(d) {
			return false
		}
	}
	return len(devs) > 0
}

// cniHostGateway: a route to exactly a node's podCIDR via that node's InternalIP (Flannel
// host-gw, Calico without encapsulation) is the CNI's.
func cniHostGateway(api *apiRanges, r iproute.Route) bool {
	gw, err := netip.ParseAddr(r.Gateway)
	if err != nil {
		return false
	}
	for _, pc := range api.PodCIDRs {
		for _, ip := range api.InternalIPs[pc.Node] {
			if pc.Prefix == r.Dst && ip == gw {
				return true
			}
		}
	}
	return false
}

func addressRoute(st *nodeRoutes, r iproute.Route) bool {
	if r.Protocol != "kernel" {
		return false
	}
	for _, a := range st.Addrs {
		if a.Dev == r.Dev && a.Network() == r.Dst {
			return true
		}
	}
	return false
}
