package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/node"
)

// PodCIDROverlap gives Node a host route more specific than TargetNode's podCIDR, pointing at a
// device the CNI does not own, as a VPC or VLAN range added to the host would: a veth pair
// (ncfault0, its peer ncfault1 left in the node's namespace) and `ip route add <first half of
// the podCIDR> dev ncfault0`. Node then sends what is meant for TargetNode's pods in that half
// into the veth, where it is lost. (A host address with the podCIDR's own prefix does not do it:
// the CNI's route for the podCIDR stays first.) Revert deletes the route and the veth pair.
type PodCIDROverlap struct {
	Node       string // the node that gets the route
	TargetNode string // the node whose pods become unreachable from Node
}

// The devices the fault creates.
const (
	PodCIDROverlapDev  = "ncfault0"
	PodCIDROverlapPeer = "ncfault1"
)

// Name returns "pod-cidr-overlap".
func (PodCIDROverlap) Name() string { return "pod-cidr-overlap" }

// AppliesTo: Flannel places pods by the nodes' podCIDRs. Calico's IPAM hands out its own blocks,
// so a route inside a node's podCIDR need not hit any pod there.
func (PodCIDROverlap) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject reads TargetNode's podCIDR, creates the veth pair and adds the route. If a step fails it
// reverts at once, so a failed Inject leaves nothing behind.
func (f PodCIDROverlap) Inject(ctx context.Context, c *Cluster) (Revert, error) {
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
	revert := func(ctx context.Context) error {
		if err := f.revert(ctx, n, dst); err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
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
	cidrs := target.Spec.PodCIDRs
	if len(cidrs) == 0 && target.Spec.PodCIDR != "" {
		cidrs = []string{target.Spec.PodCIDR}
	}
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
