package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// PodCIDROverlap is the check and repair for pod-cidr-overlap: a range the cluster's pods use
// (the CNI's pod network, a node's podCIDR) is also used by something else. Either a node has a
// host address or route outside the CNI that overlaps a pod range, as a VPC or VLAN range would —
// a more specific route steals the traffic meant for those pods — or the cluster was created with
// a pod network that overlaps the nodes' own network or the Service CIDR. The repair deletes a
// conflicting route or address where that is safe, and says what to re-address where it is not.
// On Calico the pod network is the IPPools (with the IPAM blocks Felix routes): an overlapping
// pool is disabled in favour of a valid one, the pods a controller owns are recycled off it, its
// emptied blocks released and the pool deleted.
type PodCIDROverlap struct {
	// DeleteHostRanges is the person's consent that the repair deletes a node's route or address
	// that overlaps a pod range, where netcert shows it is not the node's own (not on its primary
	// interface, not a policy route, no ip rule refers to it); without it that is a manual step.
	DeleteHostRanges bool
	// RecycleTimeout bounds the wait for the pods the repair recycles off an overlapping Calico
	// IPPool to be gone (default 2m).
	RecycleTimeout time.Duration
	// PollInterval is how often that wait polls (default kube.DefaultPollInterval, 500ms).
	PollInterval time.Duration
}

// ID returns "pod-cidr-overlap".
func (PodCIDROverlap) ID() string { return "pod-cidr-overlap" }

// overlapConflict is one overlap found, with how it would be repaired.
type overlapConflict struct {
	Finding
	Argv   []string // the node command that removes it; nil when a person must re-address
	Manual string   // the manual step when Argv is nil and Pool is nil
	Pool   *ipPool  // a Calico IPPool that the repair disables in favour of a valid one
	Prefix netip.Prefix
	Table  string // a route's routing table
}

// overlapState is everything the check reads: the API's ranges and each node's kernel view.
type overlapState struct {
	api    *apiRanges
	nodes  []*nodeRoutes
	pods   []corev1.Pod     // on Calico: every pod, to find those with addresses from an IPPool
	blocks []kube.IPAMBlock // on Calico: the IPAM blocks, which Felix routes to their nodes
}

// Run reads every range of the cluster and reports each overlap: per node, host addresses and
// routes that overlap a pod range (or one Pass per node), and cluster-wide, the pod network
// against the node network (the subnets of the nodes' primary addresses, reported once rather
// than per node) and the Service CIDR (or one Pass).
func (p PodCIDROverlap) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	st, err := p.read(ctx, c)
	if err != nil {
		return nil, err
	}
	var findings []Finding
	suggest := st.freePodSubnet()
	for _, n := range st.nodes {
		conflicts := p.nodeConflicts(st.api, n, suggest)
		for _, cf := range conflicts {
			findings = append(findings, cf.Finding)
		}
		if len(conflicts) == 0 {
			findings = append(findings, Finding{Check: p.ID(), Node: n.Name, Status: Pass, Evidence: n.Evidence,
				Summary: fmt.Sprintf("no host address or route outside the CNI's devices and the node network overlaps %s (the node network is compared cluster-wide)", rangeList(st.api.podRanges(), "a pod range"))})
		}
	}
	conflicts := p.clusterConflicts(st, suggest)
	for _, cf := range conflicts {
		findings = append(findings, cf.Finding)
	}
	if len(conflicts) == 0 {
		findings = append(findings, Finding{Check: p.ID(), Object: "cluster ranges", Status: Pass, Evidence: st.api.Evidence,
			Summary: fmt.Sprintf("pod ranges %s overlap neither the node network %s nor the Service CIDR %s",
				rangeList(st.podNetwork(), "(none)"), rangeList(st.nodeNetwork(), "(unknown)"), rangeList(st.api.Services, "(not found)"))})
	}
	return findings, nil
}

// read reads the API's ranges and every node; a node that cannot be read fails the whole check.
func (p PodCIDROverlap) read(ctx context.Context, c *Cluster) (*overlapState, error) {
	api, err := readAPIRanges(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	st := &overlapState{api: api}
	if c.CNI == "calico" {
		pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: list pods: %w", p.ID(), err)
		}
		st.pods = pods.Items
		if st.blocks, err = kube.ListIPAMBlocks(ctx, c.Dynamic); err != nil {
			return nil, fmt.Errorf("%s: %w", p.ID(), err)
		}
	}
	nodes, err := eachNode(ctx, c.Nodes, func(ctx context.Context, n node.Node) (*nodeRoutes, error) {
		return readNodeRoutes(ctx, n, api.InternalIPs[n.Name()])
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	st.nodes = nodes
	return st, nil
}

// overlapHit is one pod range a host range overlaps.
type overlapHit struct {
	rng ipRange
	rel relation
}

func overlapHits(p netip.Prefix, ranges []ipRange) []overlapHit {
	var hits []overlapHit
	for _, r := range ranges {
		if rel := relatePrefixes(p, r.Prefix); rel != relDisjoint {
			hits = append(hits, overlapHit{r, rel})
		}
	}
	return hits
}

// nodeConflicts finds the node's host addresses and routes that overlap a pod range (case a).
func (p PodCIDROverlap) nodeConflicts(api *apiRanges, st *nodeRoutes, suggest string) []overlapConflict {
	pods := api.podRanges()
	var out []overlapConflict
	add := func(object string, prefix netip.Prefix, table string, devs []string, argv []string, hits []overlapHit) {
		cf := overlapConflict{Finding: Finding{Check: p.ID(), Node: st.Name, Object: object, Status: Fail,
			Summary: hitSummary(st.Name, object, prefix, devs, hits), Evidence: st.Evidence}, Prefix: prefix, Table: table}
		cf.Evidence = withHitEvidence(cf.Evidence, hits)
		primary := ""
		for _, d := range devs {
			if st.Primary[d] {
				primary = d
			}
		}
		holds := false // a pod range holds it: deleting it loses nothing outside the pod ranges
		for _, h := range hits {
			holds = holds || h.rel != relContains
		}
		switch {
		case primary != "":
			cf.Manual = fmt.Sprintf("%s: %s is on the node's primary interface %s, which netcert does not change: move %s out of the pod ranges it overlaps (%s), or re-create the cluster with a pod subnet that does not overlap %s%s",
				st.Name, object, primary, prefix, hitRangeList(hits), prefix, freeSubnetHint(suggest))
		case !holds:
			cf.Manual = fmt.Sprintf("%s: %s reaches beyond the pod ranges it overlaps (%s): deleting it would cut the node off from the rest of %s; narrow it to leave those ranges out, or re-address that network",
				st.Name, object, hitRangeList(hits), prefix)
		default:
			cf.Argv = argv
		}
		out = append(out, cf)
	}
	// Routes first: deleting a device's last address also flushes every route through it.
	for _, r := range hostRoutes(api, st) {
		if hits := overlapHits(r.Dst, pods); len(hits) > 0 {
			add("route "+r.String(), r.Dst, r.Table, r.Devs(), append([]string{"ip", "route", "del"}, r.Spec()...), hits)
		}
	}
	for _, a := range st.Addrs {
		// A primary address belongs to the node network, which clusterConflicts compares with
		// every pod range once for the whole cluster.
		if cniOwned(a.Dev) || (st.Primary[a.Dev] && a.Scope == "global") {
			continue
		}
		if hits := overlapHits(a.Network(), pods); len(hits) > 0 {
			add("address "+a.String(), a.Network(), "", []string{a.Dev}, []string{"ip", "addr", "del", a.Prefix.String(), "dev", a.Dev}, hits)
		}
	}
	return out
}

// hitSummary says what a host range overlaps and whose pods lose traffic.
func hitSummary(nodeName, object string, prefix netip.Prefix, devs []string, hits []overlapHit) string {
	var parts, owners []string
	for _, h := range hits {
		parts = append(parts, map[relation]string{relEqual: "equals ", relInside: "lies inside ", relContains: "contains "}[h.rel]+h.rng.What)
		if h.rng.Node != "" {
			owners = append(owners, h.rng.Node)
		}
	}
	// The CNI routes each node's podCIDR: against those the effect is decided; against the pod
	// network only where no podCIDR is hit.
	worst := relContains
	for _, h := range hits {
		if (h.rng.Node != "") == (len(owners) > 0) && (h.rel == relInside || (h.rel == relEqual && worst == relContains)) {
			worst = h.rel
		}
	}
	whose := "the pods that get addresses in " + prefix.String()
	if len(owners) > 0 {
		whose = "pods of " + strings.Join(owners, ", ")
	}
	out := "out of " + strings.Join(devs, ", ")
	if len(devs) == 0 {
		out = "nowhere (it has no device)"
	}
	var effect string
	switch worst {
	case relInside:
		effect = fmt.Sprintf("it is more specific than the CNI's routes, so %s sends what is meant for %s in %s %s: those pods lose that traffic", nodeName, whose, prefix, out)
	case relEqual:
		effect = fmt.Sprintf("it has the same prefix as a CNI route, so only route order and metric decide whether %s reaches %s or sends that traffic %s", nodeName, whose, out)
	default:
		effect = fmt.Sprintf("%s reaches %s only while the CNI's more specific routes exist; hosts behind it in that range are unreachable from pods", nodeName, whose)
	}
	return fmt.Sprintf("%s on %s %s: %s", object, nodeName, strings.Join(parts, " and "), effect)
}

// podNetwork returns the pod ranges compared cluster-wide: the CNI's pod network (without Calico
// IPPools that are disabled and hold neither a pod address nor an IPAM block), and the podCIDRs
// that lie outside it (all of them when the CNI's config is not read).
func (st *overlapState) podNetwork() []ipRange {
	var out []ipRange
	for _, r := range st.api.PodNetwork {
		if r.Pool == nil || !r.Pool.Disabled || len(st.podsIn(r.Prefix)) > 0 || len(kube.BlocksIn(st.blocks, r.Prefix)) > 0 {
			out = append(out, r) // a disabled IPPool that Calico no longer routes is no pod range
		}
	}
	for _, pc := range st.api.PodCIDRs {
		if len(overlapHits(pc.Prefix, st.api.PodNetwork)) == 0 {
			out = append(out, pc)
		}
	}
	return out
}

// nodeNetwork returns the distinct subnets of the nodes' primary addresses, each naming the
// addresses it holds.
func (st *overlapState) nodeNetwork() []ipRange {
	var out []ipRange
	var holders [][]string
	seen := map[netip.Prefix]int{}
	for _, n := range st.nodes {
		for _, a := range n.Addrs {
			if !n.Primary[a.Dev] || a.Scope != "global" {
				continue
			}
			i, ok := seen[a.Network()]
			if !ok {
				i = len(out)
				seen[a.Network()] = i
				out = append(out, ipRange{Prefix: a.Network(), Evidence: n.Evidence[0]})
				holders = append(holders, nil)
			}
			holders[i] = append(holders[i], n.Name+" "+a.Dev+" "+a.Prefix.String())
		}
	}
	for i := range out {
		out[i].What = fmt.Sprintf("the node network %s (%s)", out[i].Prefix, strings.Join(holders[i], ", "))
	}
	return out
}

// clusterConflicts compares the pod network with the node network and the Service CIDR (case b).
func (p PodCIDROverlap) clusterConflicts(st *overlapState, suggest string) []overlapConflict {
	var out []overlapConflict
	for _, pod := range st.podNetwork() {
		object := "pod network " + pod.Prefix.String()
		if pod.Node != "" {
			object = "podCIDR " + pod.Prefix.String()
		}
		workloads := st.podsIn(pod.Prefix)
		add := func(h overlapHit, alternative string) {
			cf := overlapConflict{
				Finding: Finding{Check: p.ID(), Node: pod.Node, Object: object, Status: Fail,
					Evidence: []Evidence{pod.Evidence, h.rng.Evidence},
					Summary: fmt.Sprintf("%s overlaps %s: the cluster was created with a pod subnet that overlaps it, so pods and those addresses collide and traffic between them goes astray",
						pod.What, h.rng.What)},
				Manual: fmt.Sprintf("re-create the cluster with a pod subnet that does not overlap %s%s; %s", h.rng.Prefix, freeSubnetHint(suggest), alternative),
			}
			// The traffic that goes astray: to and from the narrower of the two ranges.
			narrow := pod.Prefix
			if h.rng.Prefix.Bits() > narrow.Bits() {
				narrow = h.rng.Prefix
			}
			cf.Ranges = []string{narrow.String()}
			if pod.Pool != nil {
				cf.Pool, cf.Manual = pod.Pool, ""
				blocks := "no IPAM block of it exists yet"
				if in := kube.BlocksIn(st.blocks, pod.Prefix); len(in) > 0 {
					blocks = "Calico routes its IPAM " + blockList(in) + " to their nodes, empty or not"
				}
				cf.Summary = fmt.Sprintf("%s overlaps %s: Calico gives pods addresses from it that collide with those addresses; %s; %s",
					pod.What, h.rng.What, podList(workloads, "no pod has an address from it yet"), blocks)
				cf.Evidence = append(cf.Evidence, Evidence{Source: "LIST pods (status.podIPs)", Output: podList(workloads, "none in "+pod.Prefix.String())},
					Evidence{Source: "LIST " + kube.CalicoIPAMBlocks.GroupResource().String(), Output: blocks})
			}
			out = append(out, cf)
		}
		for _, h := range overlapHits(pod.Prefix, st.nodeNetwork()) {
			add(h, fmt.Sprintf("or move the host network off %s: re-address %s", pod.What, h.rng.What))
		}
		for _, h := range overlapHits(pod.Prefix, st.api.Services) {
			add(h, fmt.Sprintf("or with a Service CIDR (kube-apiserver %s) that does not overlap %s", serviceRangeFlag, pod.What))
		}
	}
	return out
}

// podsIn returns the pods (not on the host network) with an address in prefix.
func (st *overlapState) podsIn(prefix netip.Prefix) []corev1.Pod { return podsIn(st.pods, prefix) }

// freePodSubnet proposes a /16 pod subnet that overlaps no range netcert saw (node addresses and
// routes outside the CNI, Service CIDRs, the pod network); "" when none of the candidates is free.
func (st *overlapState) freePodSubnet() string {
	var taken []netip.Prefix
	for _, r := range append(append([]ipRange(nil), st.api.Services...), st.api.PodNetwork...) {
		taken = append(taken, r.Prefix)
	}
	for _, n := range st.nodes {
		for _, a := range n.Addrs {
			if !cniOwned(a.Dev) {
				taken = append(taken, a.Network())
			}
		}
		for _, r := range hostRoutes(st.api, n) {
			taken = append(taken, r.Dst)
		}
	}
	candidates := []string{"10.244.0.0/16", "10.42.0.0/16", "192.168.0.0/16", "172.16.0.0/16"}
	for i := 0; i < 256; i++ {
		candidates = append(candidates, fmt.Sprintf("10.%d.0.0/16", i))
	}
next:
	for _, s := range candidates {
		c := netip.MustParsePrefix(s)
		for _, t := range taken {
			if relatePrefixes(c, t) != relDisjoint {
				continue next
			}
		}
		return s
	}
	return ""
}

func freeSubnetHint(free string) string {
	if free == "" {
		return ""
	}
	return ", e.g. " + free + " (no node address, route or Service CIDR netcert saw overlaps it)"
}

// rangeList lists the ranges' prefixes, or none when there are none.
func rangeList(ranges []ipRange, none string) string {
	var s []string
	for _, r := range ranges {
		s = append(s, r.Prefix.String())
	}
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}

func hitRangeList(hits []overlapHit) string {
	var s []string
	for _, h := range hits {
		s = append(s, h.rng.Prefix.String())
	}
	return strings.Join(s, ", ")
}

// withHitEvidence adds the API reads behind the hit ranges, each source once.
func withHitEvidence(ev []Evidence, hits []overlapHit) []Evidence {
	out := append([]Evidence(nil), ev...)
	seen := map[string]bool{}
	for _, e := range out {
		seen[e.Source] = true
	}
	for _, h := range hits {
		if !seen[h.rng.Evidence.Source] {
			seen[h.rng.Evidence.Source] = true
			out = append(out, h.rng.Evidence)
		}
	}
	sort.SliceStable(out[len(ev):], func(i, j int) bool { return out[len(ev)+i].Source < out[len(ev)+j].Source })
	return out
}
