package doctor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// RPFilterStrict is the check and repair for rp-filter-strict: strict reverse-path filtering
// (rp_filter=1; an interface validates with the larger of net.ipv4.conf.all.rp_filter and its
// own value) makes the kernel drop, silently, a packet whose source it would not route back out
// of the interface the packet came in on. On a node whose routes are asymmetric (a second
// uplink, a route more specific than the CNI's) that is traffic the CNI needs: other nodes' pods
// over the overlay, the node's own pods on their bridge or veth, its peers on the node network.
//
// The check asks the kernel itself, read-only: `ip route get DST from SRC iif IFACE` runs the
// input lookup of one such packet, source validation included, for each kind of packet
// (interface and source range) the node must take. A refusal is strict validation's when the
// interface's effective value is 1 (or 2 on an interface without an IPv4 address, which the
// kernel validates strictly in loose mode too) and the route back to SRC leaves through another
// interface or there is none: that fails. Strict filtering that refuses nothing passes — Calico
// sets rp_filter=1 on its cali* interfaces itself, and each pod's route leaves through its own
// veth. Refusals for other reasons (no route back at all under loose mode, forwarding off, a
// down link) are noted in the finding and left to the checks of those causes.
type RPFilterStrict struct{}

// The kernel's answers to a refused input lookup: "Invalid cross-device link" (EXDEV) is source
// validation's before Linux 6.13; since then every refused input lookup answers "Invalid
// argument", so the check tells validation apart by the values and the route back.
var rpRefusals = []string{"Invalid cross-device link", "Invalid argument"}

const rpFilter = "rp_filter"

// ID returns "rp-filter-strict".
func (RPFilterStrict) ID() string { return "rp-filter-strict" }

// rpRanges are, per node, its IPv4 pod ranges (Calico's IPAM blocks, which its routes follow;
// the podCIDRs otherwise) and its InternalIPs.
type rpRanges struct {
	pods     map[string][]netip.Prefix
	ips      map[string][]netip.Addr
	evidence []Evidence
}

func readRPRanges(ctx context.Context, c *Cluster) (*rpRanges, error) {
	if c.CNI == "calico" && c.Dynamic == nil {
		return nil, errors.New("rp-filter-strict reads Calico's IPAM blocks: no dynamic client")
	}
	api, err := readAPIRanges(ctx, c)
	if err != nil {
		return nil, err
	}
	r := &rpRanges{pods: map[string][]netip.Prefix{}, ips: api.InternalIPs, evidence: slices.Clone(api.Evidence[:min(1, len(api.Evidence))])} // the nodes' read
	if c.CNI != "calico" {
		for _, pc := range api.PodCIDRs {
			if pc.Prefix.Addr().Is4() {
				r.pods[pc.Node] = append(r.pods[pc.Node], pc.Prefix)
			}
		}
		return r, nil
	}
	blocks, err := kube.ListIPAMBlocks(ctx, c.Dynamic)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, b := range blocks {
		if b.Node != "" && b.CIDR.Addr().Is4() {
			r.pods[b.Node] = append(r.pods[b.Node], b.CIDR)
			lines = append(lines, b.String())
		}
	}
	r.evidence = append(r.evidence, Evidence{Source: "LIST ipamblocks.crd.projectcalico.org (affinity host:<node>)", Output: strings.Join(lines, "\n")})
	return r, nil
}

// rpFlow is one kind of packet the node must take: from Src, arriving on Iif, to Dst.
type rpFlow struct {
	iproute.Flow
	what string // where Src is, for a person: "node w2's pod range 10.244.2.0/24"
}

// rpFlows returns the packets node self must take, one per interface and source range: other
// nodes' pods over the overlay (or, routed natively via their InternalIP, on the node network),
// the node's own pods on their bridge or routed veth, its peers on the node network. The
// destination is a pod of the node (its InternalIP without one); its own pods send to another
// node's pod.
func rpFlows(self string, r *rpRanges, m *mtuPath, routes []iproute.Route) []rpFlow {
	l := m.links
	up := map[string]bool{}
	for _, k := range l.links {
		up[k.Name] = k.Up
	}
	var uplink string // the interface that holds the node's InternalIP
	for _, a := range l.addrs {
		if slices.Contains(r.ips[self], a.Prefix.Addr()) {
			uplink = a.Dev
		}
	}
	var overlays []string
	for _, o := range m.overlays {
		overlays = append(overlays, o.Name)
	}
	// The node's pods: a namespace with an IPv4 address of its own behind a veth of the node.
	pods := slices.DeleteFunc(slices.Clone(m.pods), func(p podNetns) bool {
		return p.veth == nil || !p.ip.Is4() || slices.ContainsFunc(l.addrs, func(a iproute.Addr) bool { return a.Prefix.Addr() == p.ip })
	})
	slices.SortFunc(pods, func(a, b podNetns) int { return a.ip.Compare(b.ip) })
	var local netip.Addr
	if len(pods) > 0 {
		local = pods[0].ip
	}
	for _, ip := range r.ips[self] {
		if ip.Is4() && !local.IsValid() {
			local = ip
		}
	}
	var flows []rpFlow
	add := func(dst, src netip.Addr, iif, what string) {
		if dst.IsValid() && src.IsValid() && up[iif] && !slices.ContainsFunc(flows, func(f rpFlow) bool { return f.Iif == iif && f.Src == src }) {
			flows = append(flows, rpFlow{Flow: iproute.Flow{Dst: dst, Src: src, Iif: iif}, what: what})
		}
	}
	var remote netip.Addr
	var peers []string
	for name := range r.ips {
		peers = append(peers, name)
	}
	for name := range r.pods {
		peers = append(peers, name)
	}
	slices.Sort(peers)
	peers = slices.DeleteFunc(slices.Compact(peers), func(name string) bool { return name == self })
	for _, peer := range peers {
		for _, pr := range r.pods[peer] {
			src := pr.Addr().Next()
			remote = cmp.Or(remote, src)
			for _, iif := range rpArrival(pr, r.ips[peer], routes, overlays, uplink) {
				add(local, src, iif, fmt.Sprintf("node %s's pod range %s", peer, pr))
			}
		}
		for _, ip := range r.ips[peer] {
			if ip.Is4() {
				add(local, ip, uplink, "node "+peer+"'s InternalIP")
			}
		}
	}
	dst := cmp.Or(remote, local)
	seen := map[string]bool{}
	bridged := len(l.podBridges()) > 0
	for _, p := range pods {
		iif := p.veth.Name // a routed pod's packets come in on its veth, a bridged pod's on the bridge
		switch {
		case p.veth.SlaveKind == "bridge":
			iif = p.veth.Master
		case bridged:
			continue // a veth out of the node's pod bridge is veth-detached's, whatever its packets meet
		}
		if !seen[iif] {
			seen[iif] = true
			add(dst, p.ip, iif, p.label())
		}
	}
	return flows
}

// rpArrival returns the interfaces a peer's pod range arrives on: the overlay the node routes
// it through; the node network when the node routes it natively (via the peer's InternalIP over
// a device that is no overlay) or has no overlay; every overlay otherwise.
func rpArrival(pr netip.Prefix, peerIPs []netip.Addr, routes []iproute.Route, overlays []string, uplink string) []string {
	for _, rt := range routes {
		if rt.Table != "main" || rt.Dst != pr {
			continue
		}
		if slices.Contains(overlays, rt.Dev) {
			return []string{rt.Dev}
		}
		if gw, err := netip.ParseAddr(rt.Gateway); err == nil && slices.Contains(peerIPs, gw) {
			return []string{uplink}
		}
	}
	if len(overlays) == 0 {
		return []string{uplink}
	}
	return overlays
}

// rpNode is what the check read of one node, and what its kernel answered.
type rpNode struct {
	name      string
	values    map[string]int // live rp_filter per interface, all and default included
	path      *mtuPath
	flows     []rpFlow
	gets      []iproute.RouteGet
	persisted []sysctl.Assignment
	evidence  []Evidence // the values and the kernel's answers
	persistEv Evidence
	rangesEv  []Evidence // where the pod ranges and InternalIPs were read
}

// readRPNode reads a node's interfaces, pods, routes and rp_filter values, and asks its kernel
// about every flow in one command.
func readRPNode(ctx context.Context, c *Cluster, r *rpRanges, n node.Node) (*rpNode, error) {
	m, err := readMTUPath(ctx, c, n)
	if err != nil {
		return nil, err
	}
	out, ev, err := run(ctx, n, iproute.RouteShowArgv...)
	if err != nil {
		return nil, err
	}
	routes, err := iproute.ParseRoute([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name(), err)
	}
	rn := &rpNode{name: n.Name(), path: m, flows: rpFlows(n.Name(), r, m, routes), rangesEv: r.evidence}
	m.evidence = append(m.evidence, ev)
	out, ev, err = run(ctx, n, sysctl.ConfArgv(rpFilter)...)
	if err != nil {
		return nil, err
	}
	rn.values = sysctl.ParseConf(out, rpFilter)
	if _, ok := rn.values["all"]; !ok {
		return nil, fmt.Errorf("%s: no net.ipv4.conf.all.rp_filter in %q", n.Name(), out)
	}
	rn.evidence = append(rn.evidence, ev)
	if len(rn.flows) > 0 {
		var flows []iproute.Flow
		for _, f := range rn.flows {
			flows = append(flows, f.Flow)
		}
		out, ev, err = run(ctx, n, iproute.RouteGetArgv(flows)...)
		if err != nil {
			return nil, err
		}
		rn.gets = iproute.ParseRouteGet([]byte(out))
		if len(rn.gets) != len(flows) {
			return nil, fmt.Errorf("%s: asked the kernel about %d flows, read %d answers in %q", n.Name(), len(flows), len(rn.gets), out)
		}
		rn.evidence = append(rn.evidence, ev)
	}
	rn.persisted, rn.persistEv, err = nodeSysctl{key: sysctl.ConfKey("all", rpFilter)}.persisted(ctx, n)
	return rn, err
}

// effective is the value an interface validates with: the larger of all's and its own.
func (rn *rpNode) effective(iface string) int { return max(rn.values["all"], rn.values[iface]) }

// hasIPv4 reports whether an interface holds an IPv4 address (loose mode needs one).
func (rn *rpNode) hasIPv4(iface string) bool { return len(rn.path.links.ipv4(iface)) > 0 }

// rpRefusal is a flow the kernel refused.
type rpRefusal struct {
	rpFlow
	get    iproute.RouteGet
	strict bool   // strict validation refused it
	why    string // for the others, what refused it instead
}

// refusals returns the flows the kernel refused, strict validation's first.
func (rn *rpNode) refusals() []rpRefusal {
	var out []rpRefusal
	for i, g := range rn.gets {
		if !g.Input.Refused() {
			continue
		}
		rf := rpRefusal{rpFlow: rn.flows[i], get: g}
		var back []string
		if g.Back.Route != nil {
			back = g.Back.Route.Devs()
		}
		eff := rn.effective(g.Iif)
		switch {
		case !slices.ContainsFunc(rpRefusals, func(s string) bool { return strings.Contains(g.Input.Err, s) }):
			rf.why = g.Input.Err
		case slices.Contains(back, g.Iif):
			rf.why = g.Input.Err + ", though the route back leaves through " + g.Iif
		case eff == 1 || (eff == 2 && !rn.hasIPv4(g.Iif)):
			rf.strict = true
		case eff == 2 && g.Back.Route == nil:
			rf.why = "no route back to " + g.Src.String() + " (rp_filter 2 drops a source the node has no route to)"
		default:
			rf.why = fmt.Sprintf("%s (rp_filter %d)", g.Input.Err, eff)
		}
		out = append(out, rf)
	}
	slices.SortStableFunc(out, func(a, b rpRefusal) int {
		if a.strict == b.strict {
			return 0
		} else if a.strict {
			return -1
		}
		return 1
	})
	return out
}

// mode names an interface's values for a person: "all=1, eth1=0: strict".
func (rn *rpNode) mode(iface string) string {
	s := fmt.Sprintf("rp_filter all=%d, %s=%d", rn.values["all"], iface, rn.values[iface])
	switch eff := rn.effective(iface); {
	case eff == 1:
		return s + ": strict"
	case eff == 2 && !rn.hasIPv4(iface):
		return s + ": loose, which the kernel applies strictly on an interface without an IPv4 address"
	}
	return s
}

// backText says where the route back to a refused flow's source leaves.
func (rf rpRefusal) backText() string {
	if rf.get.Back.Route == nil {
		return "there is no route back to it (" + rf.get.Back.Err + ")"
	}
	return fmt.Sprintf("the route back to it leaves through %s (%s)", strings.Join(rf.get.Back.Route.Devs(), ", "), rf.get.Back.Route)
}

// evidence is the two lookups of a refused flow, as a person would paste them.
func (rf rpRefusal) evidence(nodeName string) []Evidence {
	in := Evidence{Source: fmt.Sprintf("%s$ ip route get %s from %s iif %s", nodeName, rf.Dst, rf.Src, rf.Iif), Output: rf.get.Input.Err}
	back := Evidence{Source: fmt.Sprintf("%s$ ip route get %s", nodeName, rf.Src), Output: rf.get.Back.Err}
	if rf.get.Back.Route != nil {
		back.Output = rf.get.Back.Route.String()
	}
	return []Evidence{in, back}
}

// persistedStrict names the persisted assignments that make an interface strict at boot.
func (rn *rpNode) persistedStrict(iface string) []string {
	var out []string
	for _, key := range []string{sysctl.ConfKey("all", rpFilter), sysctl.ConfKey(iface, rpFilter)} {
		if a, ok := sysctl.Effective(rn.persisted, key); ok && a.Value == "1" {
			out = append(out, fmt.Sprintf("%s persists %s = 1, which comes back at reboot", a.File, key))
		}
	}
	return out
}

// finding judges the node from its kernel's answers.
func (rn *rpNode) finding(id string) Finding {
	f := Finding{Check: id, Node: rn.name, Status: Pass, Evidence: slices.Clone(rn.evidence)}
	var failed, others []string
	byIface := map[string][]string{}
	var ifaces []string
	for _, rf := range rn.refusals() {
		if !rf.strict {
			others = append(others, fmt.Sprintf("from %s (%s) on %s: %s", rf.Src, rf.what, rf.Iif, rf.why))
			continue
		}
		if _, ok := byIface[rf.Iif]; !ok {
			ifaces = append(ifaces, rf.Iif)
		}
		byIface[rf.Iif] = append(byIface[rf.Iif], fmt.Sprintf("from %s (%s) to %s: %s", rf.Src, rf.what, rf.Dst, rf.backText()))
		f.Evidence = append(f.Evidence, rf.evidence(rn.name)...)
	}
	for _, iface := range ifaces {
		s := fmt.Sprintf("%s (%s) refuses packets %s", iface, rn.mode(iface), strings.Join(byIface[iface], "; and "))
		if p := rn.persistedStrict(iface); len(p) > 0 {
			s += "; " + strings.Join(p, "; ")
			f.Evidence = append(f.Evidence, rn.persistEv)
		}
		failed = append(failed, s)
	}
	note := ""
	if len(others) > 0 {
		note = fmt.Sprintf("; the kernel refused %d flow(s) for another reason than source validation, left to other checks: %s", len(others), strings.Join(others, "; "))
	}
	switch {
	case len(failed) > 0:
		f.Status = Fail
		f.Evidence = append(f.Evidence, rn.rangesEv...)
		f.Summary = "strict reverse-path filtering drops packets the CNI needs (the kernel takes a packet only if the route back to its source leaves through the interface it came in on): " +
			strings.Join(failed, "; ") + note
	case len(rn.flows) == 0:
		f.Summary = "no packet of the pod network for this node to validate (no other node, no pod)"
	default:
		f.Summary = fmt.Sprintf("%s, and every one of the %d kinds of packet the CNI needs the node to take validates%s", rn.strictText(), len(rn.flows), note)
	}
	return f
}

// strictText says which interfaces validate strictly.
func (rn *rpNode) strictText() string {
	if rn.values["all"] == 1 {
		return "rp_filter is strict on every interface (all=1)"
	}
	var strict []string
	for _, k := range rn.path.links.links {
		if rn.effective(k.Name) == 1 {
			strict = append(strict, k.Name)
		}
	}
	if len(strict) == 0 {
		return fmt.Sprintf("no interface validates sources strictly (rp_filter all=%d)", rn.values["all"])
	}
	count := len(strict)
	if count > 6 {
		strict = append(strict[:6], "…")
	}
	return fmt.Sprintf("rp_filter is strict on %d interface(s) (%s)", count, strings.Join(strict, ", "))
}

// inspect reads n and judges it.
func (p RPFilterStrict) inspect(ctx context.Context, c *Cluster, r *rpRanges, n node.Node) (*rpNode, Finding, error) {
	rn, err := readRPNode(ctx, c, r, n)
	if err != nil {
		return nil, Finding{}, fmt.Errorf("%s: %w", p.ID(), err)
	}
	return rn, rn.finding(p.ID()), nil
}

// Run asks every node's kernel about the packets the CNI needs it to take.
func (p RPFilterStrict) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	r, err := readRPRanges(ctx, c)
	if err != nil {
		return nil, err
	}
	return perNode(ctx, c, func(ctx context.Context, n node.Node) (Finding, error) {
		_, f, err := p.inspect(ctx, c, r, n)
		return f, err
	})
}
