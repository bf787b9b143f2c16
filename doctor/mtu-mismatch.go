package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// MTUMismatch is the check and repair for mtu-mismatch: an interface on the pods' path with a
// larger MTU than the next hop carries. A pod whose eth0 is larger than the overlay device sends
// packets the node must refuse (fragmentation needed, or a silent drop on a smaller bridge port or
// veth end); an overlay device larger than its lower device less the encapsulation's bytes sends
// outer packets the node network drops. Small packets pass: only full-size ones fail.
type MTUMismatch struct{}

// ID returns "mtu-mismatch".
func (MTUMismatch) ID() string { return "mtu-mismatch" }

// encapBytes are the bytes each kind of overlay device adds to a packet (IPv4 outer headers).
var encapBytes = map[string]int{"vxlan": 50, "ipip": 20, "wireguard": 60}

// podNetnsScript prints, for every named network namespace (the pods'), a line "netns NAME",
// then its links and its addresses as JSON, one line each.
const podNetnsScript = `for ns in $(ip netns list | cut -d' ' -f1); do
  echo "netns $ns"
  ip -n "$ns" -j -d link show 2>/dev/null || echo '[]'
  ip -n "$ns" -j addr show 2>/dev/null || echo '[]'
done`

// podNetns is one pod's network namespace: its eth0 and the host end of its veth.
type podNetns struct {
	name string
	pod  string // namespace/name, from eth0's address; "" when no pod holds it
	eth0 iproute.Link
	veth *iproute.Link
	ip   netip.Addr
}

// mtuPath is what one node's pods' packets cross, read from the node.
type mtuPath struct {
	overlays []iproute.Link // the encapsulating devices that are up
	links    *nodeLinks
	pods     []podNetns
	evidence []Evidence
}

// pathMTU is the largest packet a pod's traffic to another node may be: the smallest overlay
// MTU, or 0 when the node has no overlay (routes: the pods' MTU is the node network's business).
func (m *mtuPath) pathMTU() (int, string) {
	mtu, dev := 0, ""
	for _, o := range m.overlays {
		if mtu == 0 || o.MTU < mtu {
			mtu, dev = o.MTU, o.Name
		}
	}
	return mtu, dev
}

func readMTUPath(ctx context.Context, c *Cluster, n node.Node) (*mtuPath, error) {
	l, err := readNodeLinks(ctx, n)
	if err != nil {
		return nil, err
	}
	m := &mtuPath{links: l, evidence: slices.Clone(l.evidence)}
	for _, k := range l.links {
		if _, ok := encapBytes[k.Kind]; ok && k.Up && (k.Kind == "vxlan" || len(l.ipv4(k.Name)) > 0) {
			m.overlays = append(m.overlays, k)
		}
	}
	out, ev, err := run(ctx, n, "sh", "-c", podNetnsScript)
	if err != nil {
		return nil, err
	}
	m.evidence = append(m.evidence, ev)
	if m.pods, err = parsePodNetns(out, l.podVeths()); err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name(), err)
	}
	if fixes, _ := m.mismatches(); len(fixes) > 0 {
		m.namePods(ctx, c, n.Name()) // only findings name pods: a healthy node costs no pod list
	}
	return m, nil
}

// parsePodNetns reads podNetnsScript's output; namespaces without an eth0 are left out.
func parsePodNetns(out string, veths []iproute.Link) ([]podNetns, error) {
	var pods []podNetns
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := 0; i+2 < len(lines); i++ {
		name, ok := strings.CutPrefix(lines[i], "netns ")
		if !ok {
			continue
		}
		links, err := iproute.ParseLink([]byte(lines[i+1]))
		if err != nil {
			return nil, fmt.Errorf("netns %s: %w", name, err)
		}
		addrs, err := iproute.ParseAddr([]byte(lines[i+2]))
		if err != nil {
			return nil, fmt.Errorf("netns %s: %w", name, err)
		}
		i += 2
		at := slices.IndexFunc(links, func(k iproute.Link) bool { return k.Name == "eth0" })
		if at < 0 {
			continue
		}
		p := podNetns{name: name, eth0: links[at]}
		for _, a := range addrs {
			if a.Dev == "eth0" && a.Prefix.Addr().Is4() {
				p.ip = a.Prefix.Addr()
			}
		}
		for j, v := range veths {
			if v.Index == p.eth0.PeerIndex {
				p.veth = &veths[j]
			}
		}
		pods = append(pods, p)
	}
	return pods, nil
}

// namePods names each namespace's pod by its address; without the API, namespaces keep their
// names only.
func (m *mtuPath) namePods(ctx context.Context, c *Cluster, nodeName string) {
	if c.Client == nil {
		return
	}
	list, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + nodeName})
	if err != nil {
		return
	}
	for i := range m.pods {
		for _, p := range list.Items {
			if !p.Spec.HostNetwork && m.pods[i].ip.IsValid() && p.Status.PodIP == m.pods[i].ip.String() {
				m.pods[i].pod = p.Namespace + "/" + p.Name
			}
		}
	}
}

// label names a pod's namespace for a person: the pod, else the namespace.
func (p podNetns) label() string {
	if p.pod != "" {
		return "pod " + p.pod
	}
	return "netns " + p.name
}

// mtuFix is one interface to lower: the pod's eth0 (in its namespace) or a host device.
type mtuFix struct {
	netns, dev string
	from, to   int
	why        string
}

func (f mtuFix) argv() []string {
	if f.netns != "" {
		return []string{"ip", "-n", f.netns, "link", "set", "dev", f.dev, "mtu", strconv.Itoa(f.to)}
	}
	return []string{"ip", "link", "set", "dev", f.dev, "mtu", strconv.Itoa(f.to)}
}

// mismatches returns the interfaces to lower, and the overlays too large for their lower
// device (which only a person can settle: raise the node network's MTU, or lower the CNI's).
func (m *mtuPath) mismatches() (fixes []mtuFix, overlays []string) {
	byName := map[string]iproute.Link{}
	for _, k := range m.links.links {
		byName[k.Name] = k
	}
	for _, o := range m.overlays {
		if lower, ok := byName[o.Lower]; ok && o.MTU+encapBytes[o.Kind] > lower.MTU {
			overlays = append(overlays, fmt.Sprintf("%s (%s) has MTU %d: with the %d bytes %s adds, its packets need %d on %s, which has %d",
				o.Name, o.Kind, o.MTU, encapBytes[o.Kind], o.Kind, o.MTU+encapBytes[o.Kind], lower.Name, lower.MTU))
		}
	}
	path, dev := m.pathMTU()
	for _, p := range m.pods {
		limit, limitWhy := path, dev
		if p.veth != nil && (limit == 0 || p.veth.MTU < limit) && p.veth.MTU < p.eth0.MTU {
			limit, limitWhy = p.veth.MTU, "its veth's host end "+p.veth.Name
		}
		if limit > 0 && p.eth0.MTU > limit {
			fixes = append(fixes, mtuFix{netns: p.name, dev: "eth0", from: p.eth0.MTU, to: limit,
				why: fmt.Sprintf("%s: eth0 has MTU %d, above %s's %d", p.label(), p.eth0.MTU, limitWhy, limit)})
		}
		if p.veth != nil && path > 0 && p.veth.MTU > path {
			fixes = append(fixes, mtuFix{dev: p.veth.Name, from: p.veth.MTU, to: min(path, p.eth0.MTU),
				why: fmt.Sprintf("%s: its veth's host end %s has MTU %d, above %s's %d", p.label(), p.veth.Name, p.veth.MTU, dev, path)})
		} else if p.veth != nil && p.veth.MTU > p.eth0.MTU {
			fixes = append(fixes, mtuFix{dev: p.veth.Name, from: p.veth.MTU, to: p.eth0.MTU,
				why: fmt.Sprintf("%s: its veth's host end %s has MTU %d, above the pod's eth0's %d", p.label(), p.veth.Name, p.veth.MTU, p.eth0.MTU)})
		}
	}
	return fixes, overlays
}

func (p MTUMismatch) inspect(ctx context.Context, c *Cluster, n node.Node) (Finding, error) {
	m, err := readMTUPath(ctx, c, n)
	if err != nil {
		return Finding{}, err
	}
	f := Finding{Check: p.ID(), Node: n.Name(), Evidence: m.evidence}
	fixes, overlays := m.mismatches()
	var whys []string
	for _, fx := range fixes {
		whys = append(whys, fx.why)
	}
	whys = append(whys, overlays...)
	path, dev := m.pathMTU()
	switch {
	case len(whys) > 0:
		f.Status = Fail
		f.Summary = "packets larger than the next hop carries: " + strings.Join(whys, "; ") + " (small packets pass, full-size ones are dropped)"
	case path > 0:
		f.Status = Pass
		f.Summary = fmt.Sprintf("%d pod interface(s) within %s's MTU %d, and %s within its lower device's", len(m.pods), dev, path, dev)
	default:
		f.Status = Pass
		f.Summary = fmt.Sprintf("no overlay device; %d pod interface(s) match their veths", len(m.pods))
	}
	return f, nil
}

// Run reads every node's interfaces and its pods' eth0s.
func (p MTUMismatch) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return perNode(ctx, c, func(ctx context.Context, n node.Node) (Finding, error) { return p.inspect(ctx, c, n) })
}

// Plan lowers each interface above its next hop to it, one action per node; an overlay above
// its lower device is a manual step.
func (p MTUMismatch) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		n, err := c.nodeByName(f.Node)
		if err != nil {
			return plan, err
		}
		m, err := readMTUPath(ctx, c, n)
		if err != nil {
			return plan, err
		}
		fixes, overlays := m.mismatches()
		for _, o := range overlays {
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: %s. Give the node network the MTU the overlay needs, or lower the CNI's MTU (Flannel derives it from the lower device when kube-flannel starts on the node; Calico: FelixConfiguration vxlanMTU), then recreate the node's pods: a pod keeps the MTU it was created with", f.Node, o))
		}
		if len(fixes) == 0 {
			continue
		}
		a := Action{Node: f.Node}
		var what []string
		for _, fx := range fixes {
			a.Argv = append(a.Argv, fx.argv())
			where := fx.dev
			if fx.netns != "" {
				where = fx.netns + "/" + fx.dev
			}
			what = append(what, fmt.Sprintf("%s %d→%d", where, fx.from, fx.to))
		}
		a.Summary = "lower the MTU of " + strings.Join(what, ", ") + " (lasts the pod's life: a new pod gets the CNI's MTU)"
		plan.Actions = append(plan.Actions, a)
	}
	return plan, nil
}

// Apply lowers the MTUs, then reads the node again.
func (p MTUMismatch) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return applyNodeCommands(ctx, c, plan, func(ctx context.Context, n node.Node) (Finding, error) { return p.inspect(ctx, c, n) })
}
