package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/kube/kubetest"
)

// fakeRoute is a route of an rpHost's main table ("blackhole" dev: a blackhole route).
type fakeRoute struct {
	dst      netip.Prefix
	gw, dev  string
	local    bool // one of the node's own addresses (the local table)
	blackhol bool
}

// rpHost is a bridgeHost with a routing table, rp_filter values and persisted sysctl files,
// whose kernel answers RouteGetArgv's script as Linux validates sources: 0 takes every source,
// 1 only one whose route back leaves through the interface it came in on, 2 one with any route
// back (through that interface only, when it holds no IPv4 address). sysctl -w and the repair's
// drop-in write change its values and files.
type rpHost struct {
	*bridgeHost
	routes []fakeRoute
	values map[string]int
	files  map[string]string // file → content
	refuse string            // the kernel's error line for a refused flow
}

func (h *rpHost) lookup(a netip.Addr) *fakeRoute {
	var best *fakeRoute
	for i, r := range h.routes {
		if r.dst.Contains(a) && (best == nil || r.dst.Bits() > best.dst.Bits()) {
			best = &h.routes[i]
		}
	}
	if best != nil && best.blackhol {
		return nil
	}
	return best
}

func (h *rpHost) routeJSON(r *fakeRoute, dst netip.Addr, extra map[string]any) string {
	m := map[string]any{"dst": dst.String(), "dev": r.dev}
	if r.gw != "" {
		m["gateway"] = r.gw
	}
	if r.local {
		m["type"], m["dev"] = "local", "lo"
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal([]any{m})
	return string(b)
}

// validates is the kernel's verdict on a packet from src arriving on iif.
func (h *rpHost) validates(src netip.Addr, iif string) bool {
	eff := max(h.values["all"], h.values[iif])
	back := h.lookup(src)
	switch {
	case eff == 0:
		return true
	case back != nil && back.dev == iif:
		return true
	case eff == 2 && back != nil:
		return len(h.link(iif).addrs) > 0
	}
	return false
}

func (h *rpHost) answer(argv []string) (string, int) {
	var b strings.Builder
	for i := 4; i+2 < len(argv); i += 3 {
		dst, src, iif := netip.MustParseAddr(argv[i]), netip.MustParseAddr(argv[i+1]), argv[i+2]
		fmt.Fprintf(&b, "input %s %s %s\n", dst, src, iif)
		fwd := h.lookup(dst)
		switch {
		case h.link(iif) == nil:
			fmt.Fprintf(&b, "Cannot find device %q\n", iif)
		case fwd == nil:
			b.WriteString("RTNETLINK answers: Network is unreachable\n")
		case h.validates(src, iif):
			b.WriteString(h.routeJSON(fwd, dst, map[string]any{"from": src.String(), "iif": iif}) + "\n")
			continue
		default:
			b.WriteString(h.refuse + "\n")
		}
		fmt.Fprintf(&b, "output %s\n", src)
		if back := h.lookup(src); back != nil {
			b.WriteString(h.routeJSON(back, src, nil) + "\n")
		} else {
			b.WriteString("RTNETLINK answers: Network is unreachable\n")
		}
	}
	return b.String(), 0
}

var rpAssignment = regexp.MustCompile(`^net/ipv4/conf/([^/]+)/rp_filter=(\d)$`)

// newRPHost gives h its kernel: the routes of its addresses, the default via 172.18.0.1, and
// routes.
func newRPHost(h *bridgeHost, values map[string]int, routes ...fakeRoute) *rpHost {
	r := &rpHost{bridgeHost: h, values: values, files: map[string]string{}, refuse: "RTNETLINK answers: Invalid cross-device link"}
	for _, l := range h.links {
		for _, a := range l.addrs {
			p := netip.MustParsePrefix(a)
			r.routes = append(r.routes, fakeRoute{dst: netip.PrefixFrom(p.Addr(), 32), dev: l.name, local: true})
			if p.Bits() < 32 {
				r.routes = append(r.routes, fakeRoute{dst: p.Masked(), dev: l.name})
			}
		}
	}
	r.routes = append(append(r.routes, fakeRoute{dst: netip.MustParsePrefix("0.0.0.0/0"), gw: "172.18.0.1", dev: "eth0"}), routes...)
	h.Handle(strings.Join(iproute.RouteGetArgv(nil), " "), r.answer)
	h.Handle(strings.Join(iproute.RouteShowArgv, " "), func([]string) (string, int) {
		var out []map[string]any
		for _, rt := range r.routes {
			m := map[string]any{"dst": rt.dst.String(), "dev": rt.dev, "gateway": rt.gw}
			switch {
			case rt.local:
				m["table"], m["type"] = "local", "local"
			case rt.blackhol:
				m["type"] = "blackhole"
			}
			out = append(out, m)
		}
		b, _ := json.Marshal(out)
		return string(b), 0
	})
	h.Handle(strings.Join(sysctl.ConfArgv(rpFilter), " "), func([]string) (string, int) {
		var out []string
		for iface, v := range r.values {
			out = append(out, fmt.Sprintf("/proc/sys/net/ipv4/conf/%s/rp_filter:%d", iface, v))
		}
		return strings.Join(out, "\n"), 0
	})
	h.Handle(strings.Join(sysctl.PersistedGrep(rpFilter), " "), func([]string) (string, int) {
		var out []string
		for file, content := range r.files {
			for _, line := range strings.Split(content, "\n") {
				if strings.Contains(line, rpFilter) {
					out = append(out, file+":"+line)
				}
			}
		}
		return strings.Join(out, "\n"), min(len(out), 1) ^ 1
	})
	h.Handle("sysctl -w", func(argv []string) (string, int) {
		for _, kv := range argv[2:] {
			m := rpAssignment.FindStringSubmatch(kv)
			if m == nil {
				return "sysctl: cannot stat " + kv, 255
			}
			r.values[m[1]], _ = strconv.Atoi(m[2])
		}
		return "", 0
	})
	h.Handle("sh -c printf", func(argv []string) (string, int) {
		content, file, _ := strings.Cut(strings.TrimPrefix(argv[2], "printf '%s' '"), "' > ")
		r.files[file] = content
		return "", 0
	})
	return r
}

// rpFlannel is Flannel's node i of a cluster: eth0 172.18.0.<i+2>, podCIDR 10.244.<i>.0/24 on
// cni0 with two pods, and the routes of the other nodes' podCIDRs over flannel.1.
func rpFlannel(i, nodes int, values map[string]int, routes ...fakeRoute) *rpHost {
	h := flannelWorker(fmt.Sprintf("w%d", i))
	h.link("eth0").addrs = []string{fmt.Sprintf("172.18.0.%d/16", i+2)}
	h.link("flannel.1").addrs = []string{fmt.Sprintf("10.244.%d.0/32", i)}
	h.link("cni0").addrs = []string{fmt.Sprintf("10.244.%d.1/24", i)}
	h.pods[0].ip, h.pods[1].ip = fmt.Sprintf("10.244.%d.10", i), fmt.Sprintf("10.244.%d.11", i)
	for j := range nodes {
		if j != i {
			routes = append(routes, fakeRoute{dst: netip.MustParsePrefix(fmt.Sprintf("10.244.%d.0/24", j)), gw: fmt.Sprintf("10.244.%d.0", j), dev: "flannel.1"})
		}
	}
	return newRPHost(h, values, routes...)
}

// rpCalico is Calico's node i: block 10.248.<i>.0/26 (a blackhole route), one pod routed on
// its cali veth, which Calico makes strict, and the other nodes' blocks over vxlan.calico.
func rpCalico(i, nodes int, values map[string]int) *rpHost {
	h := calicoWorker(fmt.Sprintf("w%d", i))
	h.link("eth0").addrs = []string{fmt.Sprintf("172.18.0.%d/16", i+2)}
	h.link("vxlan.calico").addrs = []string{fmt.Sprintf("10.248.%d.0/32", i)}
	h.pods[0].ip = fmt.Sprintf("10.248.%d.5", i)
	values["cali0123456789a"] = 1
	routes := []fakeRoute{{dst: netip.MustParsePrefix(fmt.Sprintf("10.248.%d.0/26", i)), blackhol: true},
		{dst: netip.MustParsePrefix(h.pods[0].ip + "/32"), dev: "cali0123456789a"}}
	for j := range nodes {
		if j != i {
			routes = append(routes, fakeRoute{dst: netip.MustParsePrefix(fmt.Sprintf("10.248.%d.0/26", j)), gw: fmt.Sprintf("10.248.%d.0", j), dev: "vxlan.calico"})
		}
	}
	return newRPHost(h, values, routes...)
}

// rpCluster is a cluster of the hosts (named w0, w1, …) with their InternalIPs and podCIDRs in
// the API, and for Calico their IPAM blocks.
func rpCluster(cni string, hosts ...*rpHost) *Cluster {
	objs := []runtime.Object{flannelVXLANConfigMap("10.244.0.0/16")}
	var calico []runtime.Object
	for i, h := range hosts {
		n := apiNode(h.Name(), fmt.Sprintf("172.18.0.%d", i+2))
		n.Spec.PodCIDRs = []string{fmt.Sprintf("10.244.%d.0/24", i)}
		objs = append(objs, n)
		calico = append(calico, kubetest.CalicoBlock(fmt.Sprintf("10.248.%d.0/26", i), h.Name(), 1)...)
	}
	c := &Cluster{Client: fake.NewClientset(objs...), CNI: cni,
		Dynamic: kubetest.CalicoDynamic(append(calico, kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false))...)}
	for _, h := range hosts {
		c.Nodes = append(c.Nodes, h)
	}
	return c
}

func rpValues(all int) map[string]int {
	return map[string]int{"all": all, "default": all, "lo": 0, "eth0": 0, "flannel.1": 0, "cni0": 0, "vxlan.calico": 0}
}

// Healthy Flannel nodes pass with any rp_filter, strict everywhere included: every source comes
// in where its route leaves. Calico's own strict cali* interfaces stay quiet too.
func TestRPFilterStrictQuietOnHealthyNodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *Cluster
		says string
	}{
		{"flannel, rp_filter 0", rpCluster("flannel", rpFlannel(0, 3, rpValues(0)), rpFlannel(1, 3, rpValues(0)), rpFlannel(2, 3, rpValues(0))),
			"no interface validates sources strictly (rp_filter all=0), and every one of the 5 kinds of packet"},
		{"flannel, strict everywhere", rpCluster("flannel", rpFlannel(0, 2, rpValues(1)), rpFlannel(1, 2, rpValues(1))),
			"rp_filter is strict on every interface (all=1), and every one of the 3 kinds"},
		{"calico, cali* strict", rpCluster("calico", rpCalico(0, 2, rpValues(0)), rpCalico(1, 2, rpValues(0))),
			"rp_filter is strict on 1 interface(s) (cali0123456789a), and every one of the 3 kinds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings, err := RPFilterStrict{}.Run(t.Context(), tc.c)
			require.NoError(t, err)
			require.Len(t, findings, len(tc.c.Nodes))
			for _, f := range findings {
				assert.Equal(t, Pass, f.Status, "%s", f)
				assert.Contains(t, f.Summary, tc.says)
			}
			plan, err := RPFilterStrict{}.Plan(t.Context(), tc.c, findings)
			require.NoError(t, err)
			assert.True(t, plan.Empty())
		})
	}
}

// The kinds of packet a Flannel node is asked about: each other node's podCIDR over flannel.1,
// its InternalIP on eth0, and the node's pods on cni0 (one for the bridge), in one command.
func TestRPFilterStrictAsksOncePerInterfaceAndSource(t *testing.T) {
	h := rpFlannel(0, 3, rpValues(0))
	_, err := RPFilterStrict{}.Run(t.Context(), rpCluster("flannel", h, rpFlannel(1, 3, rpValues(0)), rpFlannel(2, 3, rpValues(0))))
	require.NoError(t, err)
	var asked []string
	for _, call := range h.Calls() {
		if strings.HasPrefix(call, strings.Join(iproute.RouteGetArgv(nil), " ")) {
			asked = append(asked, strings.TrimPrefix(call, strings.Join(iproute.RouteGetArgv(nil), " ")+" "))
		}
	}
	assert.Equal(t, []string{"10.244.0.10 10.244.1.1 flannel.1 10.244.0.10 172.18.0.3 eth0 10.244.0.10 10.244.2.1 flannel.1 10.244.0.10 172.18.0.4 eth0 " +
		"10.244.1.1 10.244.0.10 cni0"}, asked)
}

// asymmetric is Flannel's node 0 with a second uplink whose route covers half of node 1's
// podCIDR (a VPN's, or a second NIC's more specific route): the overlay's packets from there
// arrive on flannel.1 while the route back leaves through eth1.
func asymmetric(values map[string]int) *rpHost {
	h := rpFlannel(0, 2, values, fakeRoute{dst: netip.MustParsePrefix("10.244.1.0/25"), gw: "192.168.50.1", dev: "eth1"})
	h.links = append(h.links, &fakeLink{name: "eth1", kind: "veth", up: true, peer: true, addrs: []string{"192.168.50.2/24"}})
	h.values["eth1"] = 0
	return h
}

// Strict validation on an asymmetric node fails, naming the interface, the packets, the route
// back and a persisted strict value, on kernels before 6.13 (EXDEV) and since (EINVAL).
func TestRPFilterStrictFiresOnAnAsymmetricNode(t *testing.T) {
	for _, refuse := range []string{"RTNETLINK answers: Invalid cross-device link", "RTNETLINK answers: Invalid argument"} {
		t.Run(refuse, func(t *testing.T) {
			h := asymmetric(rpValues(1))
			h.refuse = refuse
			h.files["/etc/sysctl.d/10-hardening.conf"] = "net.ipv4.conf.all.rp_filter = 1"
			c := rpCluster("flannel", h, rpFlannel(1, 2, rpValues(1)))
			findings, err := RPFilterStrict{}.Run(t.Context(), c)
			require.NoError(t, err)
			require.Equal(t, []string{"Fail w0", "Pass w1"}, statuses(findings), "%v", findings)
			f := findings[0]
			assert.True(t, isNodeCause(f))
			assert.Contains(t, f.Summary, "flannel.1 (rp_filter all=1, flannel.1=0: strict) refuses packets from 10.244.1.1 (node w1's pod range 10.244.1.0/24) to 10.244.0.10: "+
				"the route back to it leaves through eth1 (10.244.1.1/32 via 192.168.50.1 dev eth1)")
			assert.Contains(t, f.Summary, "/etc/sysctl.d/10-hardening.conf persists net.ipv4.conf.all.rp_filter = 1, which comes back at reboot")
			assert.Contains(t, f.Evidence, Evidence{Source: "w0$ ip route get 10.244.0.10 from 10.244.1.1 iif flannel.1", Output: refuse})
			assert.Contains(t, f.Evidence, Evidence{Source: "w0$ ip route get 10.244.1.1", Output: "10.244.1.1/32 via 192.168.50.1 dev eth1"})
		})
	}
}

// Loose validation takes the asymmetric node's packets: quiet. A source with no route back at
// all is refused under loose validation too, but that is the routes' fault: noted, not failed.
func TestRPFilterStrictQuietUnderLoose(t *testing.T) {
	h := asymmetric(rpValues(2))
	h.routes = slices.DeleteFunc(h.routes, func(r fakeRoute) bool { return r.dev == "eth0" && r.dst.Bits() == 0 })
	c := rpCluster("flannel", h, rpFlannel(1, 2, rpValues(2)), rpFlannel(2, 3, rpValues(2)))
	findings, err := RPFilterStrict{}.Run(t.Context(), c)
	require.NoError(t, err)
	assert.Equal(t, []string{"Pass w0", "Pass w1", "Pass w2"}, statuses(findings), "%v", findings)
	assert.Contains(t, findings[0].Summary, "the kernel refused 1 flow(s) for another reason than source validation, left to other checks: "+
		"from 10.244.2.1 (node w2's pod range 10.244.2.0/24) on flannel.1: no route back to 10.244.2.1")
}

// The repair loosens the refusing interface and all (which makes every interface strict), now
// and in its drop-in, verifies with the same questions, and changes nothing the second time.
func TestRPFilterStrictRepairIsVerifiedAndIdempotent(t *testing.T) {
	ctx := context.Background()
	h := asymmetric(rpValues(1))
	h.files[rpFilterDropIn] = "net/ipv4/conf/eth9/rp_filter = 2\n" // an earlier repair's
	c := rpCluster("flannel", h, rpFlannel(1, 2, rpValues(1)))
	findings, err := RPFilterStrict{}.Run(ctx, c)
	require.NoError(t, err)
	plan, err := RPFilterStrict{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Empty(t, plan.Manual)
	require.Len(t, plan.Actions, 1)
	a := plan.Actions[0]
	assert.Equal(t, "w0", a.Node)
	assert.Equal(t, [][]string{{"sysctl", "-w", "net/ipv4/conf/all/rp_filter=2", "net/ipv4/conf/flannel.1/rp_filter=2"},
		writeFile(rpFilterDropIn, "# Written by netcert (rp-filter-strict): loose reverse-path filtering where strict filtering dropped what the CNI needs.\n"+
			"net/ipv4/conf/eth9/rp_filter = 2\nnet/ipv4/conf/all/rp_filter = 2\nnet/ipv4/conf/flannel.1/rp_filter = 2\n")}, a.Argv)
	assert.Contains(t, a.Summary, "on all, flannel.1 (all was 1: an interface validates with the larger of all and its own value, so all=1 makes every interface strict)")

	rec, err := RPFilterStrict{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)
	assert.Equal(t, 2, h.values["all"])
	rec, err = RPFilterStrict{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.False(t, rec.Steps[0].Changed, "the first Apply already loosened it")
	assert.Equal(t, 1, strings.Count(strings.Join(h.Calls(), "\n"), "sysctl -w"))

	findings, err = RPFilterStrict{}.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
	plan, err = RPFilterStrict{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

// Where loose validation cannot help (a routed pod's veth holds no address) or a file read after
// the drop-in keeps the interface strict at boot, the plan is a person's.
func TestRPFilterStrictManualSteps(t *testing.T) {
	ctx := context.Background()
	pod := rpCalico(0, 2, rpValues(0))
	pod.routes = slices.DeleteFunc(pod.routes, func(r fakeRoute) bool { return r.dev == "cali0123456789a" }) // the pod's route gone: back via eth0
	c := rpCluster("calico", pod, rpCalico(1, 2, rpValues(0)))
	findings, err := RPFilterStrict{}.Run(ctx, c)
	require.NoError(t, err)
	require.Equal(t, []string{"Fail w0", "Pass w1"}, statuses(findings), "%v", findings)
	plan, err := RPFilterStrict{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "w0: cali0123456789a holds no IPv4 address, and the kernel validates the source of such an interface strictly in loose mode too (a pod's veth")
	_, err = RPFilterStrict{}.Apply(ctx, c, plan)
	assert.ErrorContains(t, err, "manual steps")

	h := asymmetric(rpValues(1))
	h.files[sysctl.Conf] = "net.ipv4.conf.all.rp_filter=1\nnet.ipv4.conf.flannel/1.rp_filter = 1"
	c = rpCluster("flannel", h, rpFlannel(1, 2, rpValues(1)))
	findings, err = RPFilterStrict{}.Run(ctx, c)
	require.NoError(t, err)
	plan, err = RPFilterStrict{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "w0: /etc/sysctl.conf sets net.ipv4.conf.flannel.1.rp_filter = 1 and is read after "+rpFilterDropIn)
	assert.NotContains(t, strings.Join(h.Calls(), "\n"), "sysctl -w", "nothing was changed")
	assert.Equal(t, "/etc", path.Dir(sysctl.Conf))
}

// A pod's veth taken out of the bridge is veth-detached's: its packets now come in on a veth
// without an address, which loose validation refuses, but no flow is asked of it.
func TestRPFilterStrictLeavesADetachedVethAlone(t *testing.T) {
	h := rpFlannel(0, 2, rpValues(2))
	h.link("veth1a").master = ""
	h.values["veth1a"] = 2
	findings, err := RPFilterStrict{}.Run(t.Context(), rpCluster("flannel", h, rpFlannel(1, 2, rpValues(2))))
	require.NoError(t, err)
	assert.Equal(t, []string{"Pass w0", "Pass w1"}, statuses(findings), "%v", findings)
	assert.NotContains(t, strings.Join(h.Calls(), "\n"), " veth1a")
}
