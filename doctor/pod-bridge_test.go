package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// fakeLink is one interface of a bridgeHost.
type fakeLink struct {
	name, kind, master string
	up, hairpin, peer  bool
	addrs              []string
	mtu                int    // 0: 1500 for eth0, 1450 for the others
	lower              string // an overlay's lower device
}

// fakePod is a pod's network namespace on a bridgeHost: its eth0 is the peer of host link veth.
type fakePod struct {
	netns, ip, veth string
	mtu             int
}

// bridgeHost is a fake node whose interfaces `ip -j -d link show` and `ip -j addr show` print,
// and that `ip link set` and `ip addr add|del` change as the kernel does (leaving a bridge resets
// a port's hairpin mode); its pods' namespaces are what podNetnsScript prints.
type bridgeHost struct {
	*node.Fake
	links []*fakeLink
	pods  []*fakePod
}

// flannelWorker is a Flannel worker: eth0 (the node's uplink, a veth in kind), cni0 with the
// gateway of 10.244.1.0/24 and two pods' veths in hairpin mode.
func flannelWorker(name string) *bridgeHost {
	h := &bridgeHost{Fake: node.NewFake(name), links: []*fakeLink{
		{name: "eth0", kind: "veth", up: true, peer: true, addrs: []string{"172.18.0.3/16"}},
		{name: "flannel.1", kind: "vxlan", up: true, addrs: []string{"10.244.1.0/32"}},
		{name: "cni0", kind: "bridge", up: true, addrs: []string{"10.244.1.1/24"}},
		{name: "veth1a", kind: "veth", master: "cni0", up: true, hairpin: true, peer: true},
		{name: "veth1b", kind: "veth", master: "cni0", up: true, hairpin: true, peer: true},
	}, pods: []*fakePod{{netns: "cni-1a", ip: "10.244.1.10", veth: "veth1a", mtu: 1450},
		{netns: "cni-1b", ip: "10.244.1.11", veth: "veth1b", mtu: 1450}}}
	h.link("flannel.1").lower = "eth0"
	h.Handle(strings.Join(iproute.LinkShowArgv, " "), func([]string) (string, int) { return h.linkJSON(), 0 })
	h.Handle("sh -c "+podNetnsScript, func([]string) (string, int) { return h.netnsText(), 0 })
	h.Handle("ip -n", func(argv []string) (string, int) {
		for _, p := range h.pods {
			if p.netns == argv[2] && strings.Join(argv[3:7], " ") == "link set dev eth0" && argv[7] == "mtu" {
				p.mtu, _ = strconv.Atoi(argv[8])
				return "", 0
			}
		}
		return "Cannot open network namespace", 1
	})
	h.Handle(strings.Join(iproute.AddrShowArgv, " "), func([]string) (string, int) { return h.addrJSON(), 0 })
	h.Handle("ip link set dev", func(argv []string) (string, int) {
		l := h.link(argv[4])
		if l == nil {
			return "Cannot find device", 1
		}
		switch strings.Join(argv[5:], " ") {
		case "up":
			l.up = true
		case "down":
			l.up = false
		case "nomaster":
			l.master, l.hairpin = "", false
		case "type bridge_slave hairpin on":
			l.hairpin = true
		case "type bridge_slave hairpin off":
			l.hairpin = false
		default:
			if argv[5] == "mtu" {
				l.mtu, _ = strconv.Atoi(argv[6])
				return "", 0
			}
			if argv[5] != "master" {
				return "unknown", 1
			}
			l.master, l.hairpin = argv[6], false
		}
		return "", 0
	})
	h.Handle("ip addr", func(argv []string) (string, int) {
		l := h.link(argv[5])
		switch argv[2] {
		case "add":
			l.addrs = append(l.addrs, argv[3])
		case "del":
			i := slices.Index(l.addrs, argv[3])
			if i < 0 {
				return "RTNETLINK answers: Cannot assign requested address", 2
			}
			l.addrs = slices.Delete(l.addrs, i, i+1)
		}
		return "", 0
	})
	return h
}

// calicoWorker is a Calico worker: no bridge, its pods' veths routed.
func calicoWorker(name string) *bridgeHost {
	h := flannelWorker(name)
	h.links = []*fakeLink{{name: "eth0", kind: "veth", up: true, peer: true, addrs: []string{"172.18.0.4/16"}},
		{name: "vxlan.calico", kind: "vxlan", up: true, lower: "eth0", addrs: []string{"10.248.1.0/32"}},
		{name: "cali0123456789a", kind: "veth", up: true, peer: true}}
	h.pods = []*fakePod{{netns: "cni-c1", ip: "10.248.1.5", veth: "cali0123456789a", mtu: 1450}}
	return h
}

func (h *bridgeHost) link(name string) *fakeLink {
	for _, l := range h.links {
		if l.name == name {
			return l
		}
	}
	return nil
}

func (h *bridgeHost) linkJSON() string {
	var out []map[string]any
	for i, l := range h.links {
		m := map[string]any{"ifindex": i + 1, "ifname": l.name, "mtu": l.MTU(), "flags": []string{"BROADCAST"}, "linkinfo": map[string]any{"info_kind": l.kind}}
		if l.lower != "" {
			m["linkinfo"] = map[string]any{"info_kind": l.kind, "info_data": map[string]any{"link": l.lower}}
		}
		if slices.ContainsFunc(h.pods, func(p *fakePod) bool { return p.veth == l.name }) {
			m["link_index"] = 2
		}
		if l.up {
			m["flags"] = []string{"BROADCAST", "UP", "LOWER_UP"}
		}
		if l.peer {
			m["link_netnsid"] = 1
		}
		if l.master != "" {
			m["master"] = l.master
			m["linkinfo"] = map[string]any{"info_kind": l.kind, "info_slave_kind": "bridge", "info_slave_data": map[string]any{"hairpin": l.hairpin}}
		}
		out = append(out, m)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// MTU is the link's MTU, defaults included.
func (l *fakeLink) MTU() int {
	switch {
	case l.mtu > 0:
		return l.mtu
	case l.name == "eth0":
		return 1500
	}
	return 1450
}

// netnsText is what podNetnsScript prints: each pod's lo and eth0 (the peer of its veth).
func (h *bridgeHost) netnsText() string {
	var b strings.Builder
	for _, p := range h.pods {
		peer := slices.IndexFunc(h.links, func(l *fakeLink) bool { return l.name == p.veth }) + 1
		links, _ := json.Marshal([]map[string]any{{"ifindex": 1, "ifname": "lo", "mtu": 65536},
			{"ifindex": 2, "ifname": "eth0", "mtu": p.mtu, "link_index": peer, "link_netnsid": 0, "flags": []string{"UP", "LOWER_UP"}}})
		addrs, _ := json.Marshal([]map[string]any{{"ifname": "eth0", "addr_info": []map[string]any{{"family": "inet", "local": p.ip, "prefixlen": 24}}}})
		fmt.Fprintf(&b, "netns %s\n%s\n%s\n", p.netns, links, addrs)
	}
	return b.String()
}

func (h *bridgeHost) addrJSON() string {
	var out []map[string]any
	for _, l := range h.links {
		var infos []map[string]any
		for _, a := range l.addrs {
			addr, bits, _ := strings.Cut(a, "/")
			infos = append(infos, map[string]any{"family": "inet", "local": addr, "prefixlen": bits, "scope": "global"})
		}
		out = append(out, map[string]any{"ifname": l.name, "addr_info": infos})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// bridgeCluster is a cluster of the hosts, each with podCIDR 10.244.<i+1>.0/24 in the API.
func bridgeCluster(hosts ...*bridgeHost) *Cluster {
	c := &Cluster{Client: fake.NewClientset()}
	for i, h := range hosts {
		c.Nodes = append(c.Nodes, h)
		_, _ = c.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: h.Name()},
			Spec: corev1.NodeSpec{PodCIDR: "10.244." + string(rune('1'+i)) + ".0/24"}}, metav1.CreateOptions{})
	}
	return c
}

// bridgeProblems are the checks of the pod bridge.
var bridgeProblems = []Problem{CNIBridgeDown{}, CNIBridgeWrongAddress{}, VethDetached{}, HairpinOff{}}

// On a healthy Flannel worker every bridge check passes; on a Calico worker none applies.
func TestBridgeChecksQuietOnHealthyNodes(t *testing.T) {
	ctx := context.Background()
	c := bridgeCluster(flannelWorker("w1"), calicoWorker("w2"))
	for _, p := range bridgeProblems {
		findings, err := p.Run(ctx, c)
		require.NoError(t, err, p.ID())
		require.Len(t, findings, 2, p.ID())
		assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
		assert.Equal(t, "link/cni0", findings[0].Object)
		assert.Equal(t, NotApplicable, findings[1].Status, "%s", findings[1])
		plan, err := p.Plan(ctx, c, findings)
		require.NoError(t, err)
		assert.True(t, plan.Empty(), p.ID())
	}
}

// Each fault of the bridge fires its own check and no other bridge check; the repair makes the
// node pass, and a second apply changes nothing.
func TestBridgeChecksFireAndRepair(t *testing.T) {
	for _, tc := range []struct {
		problem Problem
		breakIt func(h *bridgeHost)
		summary string
	}{
		{CNIBridgeDown{}, func(h *bridgeHost) { h.link("cni0").up = false }, "cni0 is down"},
		{CNIBridgeWrongAddress{}, func(h *bridgeHost) { h.link("cni0").addrs = []string{"10.244.250.1/24"} }, "outside the node's podCIDR 10.244.1.0/24"},
		{CNIBridgeWrongAddress{}, func(h *bridgeHost) { h.link("cni0").addrs = nil }, "holds no address in 10.244.1.0/24"},
		{VethDetached{}, func(h *bridgeHost) { h.link("veth1b").master, h.link("veth1b").hairpin = "", false }, "veth1b: a pod's veth"},
		{VethDetached{}, func(h *bridgeHost) { h.link("veth1a").up = false }, "veth1a: a port of cni0 that is down"},
		{HairpinOff{}, func(h *bridgeHost) { h.link("veth1a").hairpin = false }, "veth1a: hairpin mode off"},
	} {
		t.Run(tc.summary, func(t *testing.T) {
			ctx := context.Background()
			h := flannelWorker("w1")
			tc.breakIt(h)
			c := bridgeCluster(h)
			for _, p := range bridgeProblems {
				findings, err := p.Run(ctx, c)
				require.NoError(t, err)
				if p.ID() != tc.problem.ID() {
					assert.Empty(t, Failed(findings), "%s fires too", p.ID())
					continue
				}
				failed := Failed(findings)
				require.Len(t, failed, 1)
				assert.Contains(t, failed[0].Summary, tc.summary)
				assert.True(t, isNodeCause(failed[0]))
				plan, err := p.Plan(ctx, c, findings)
				require.NoError(t, err)
				require.Len(t, plan.Actions, 1)
				rec, err := p.Apply(ctx, c, plan)
				require.NoError(t, err)
				assert.True(t, rec.Steps[0].Changed)
				again, err := p.Apply(ctx, c, plan)
				require.NoError(t, err)
				assert.False(t, again.Steps[0].Changed, "idempotent")
			}
			for _, p := range bridgeProblems {
				findings, err := p.Run(ctx, c)
				require.NoError(t, err)
				assert.Empty(t, Failed(findings), "%s after the repair", p.ID())
			}
			assert.Equal(t, []string{"10.244.1.1/24"}, h.link("cni0").addrs)
			assert.True(t, h.link("veth1b").hairpin && h.link("veth1a").hairpin, "re-plugged ports get hairpin mode back")
		})
	}
}
