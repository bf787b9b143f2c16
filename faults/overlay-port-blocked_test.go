package faults

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/node"
)

// firewallNode is a fake node with an iptables (-I/-C/-D by exact spec) and nft tables (list,
// add, delete) that keep state.
type firewallNode struct {
	*node.Fake
	rules  []string // "table chain spec…", in order
	tables map[string][]string
}

func newFirewallNode(name string) *firewallNode {
	n := &firewallNode{Fake: node.NewFake(name), tables: map[string][]string{}}
	journalOn(n.Fake)
	n.Handle("iptables -w", func(argv []string) (string, int) {
		table, args := "filter", argv[2:]
		if args[0] == "-t" {
			table, args = args[1], args[2:]
		}
		rule := table + " " + args[1] + " " + strings.Join(args[2:], " ")
		i := slices.Index(n.rules, rule)
		switch {
		case args[0] == "-I":
			n.rules = append([]string{rule}, n.rules...)
		case i < 0: // -C or -D of a rule that is not there
			return "iptables: Bad rule (does a matching rule exist in that chain?).", 1
		case args[0] == "-D":
			n.rules = slices.Delete(n.rules, i, i+1)
		}
		return "", 0
	})
	n.Handle("nft list tables", func([]string) (string, int) {
		var out []string
		for t := range n.tables {
			out = append(out, "table "+t)
		}
		return strings.Join(out, "\n") + "\n", 0
	})
	n.Handle("nft add table", func([]string) (string, int) {
		n.tables["inet netcert_fault"] = []string{"udp dport 8472 counter drop"}
		return "", 0
	})
	n.Handle("nft delete table", func(argv []string) (string, int) {
		t := argv[3] + " " + argv[4]
		if _, ok := n.tables[t]; !ok {
			return "Error: No such file or directory", 1
		}
		delete(n.tables, t)
		return "", 0
	})
	return n
}

func TestOverlayPortBlockedInjectsAndReverts(t *testing.T) {
	const spec = "-p udp --dport 8472 -m comment --comment netcert-fault -j DROP"
	for _, tc := range []struct {
		mode, check, add, del, state string
	}{
		{"", "iptables -w -C INPUT " + spec, "iptables -w -I INPUT " + spec, "iptables -w -D INPUT " + spec, "filter INPUT " + spec},
		{"raw-prerouting-drop", "iptables -w -t raw -C PREROUTING " + spec, "iptables -w -t raw -I PREROUTING " + spec,
			"iptables -w -t raw -D PREROUTING " + spec, "raw PREROUTING " + spec},
		{"nft-input-drop", "nft list tables", `nft add table inet netcert_fault; add chain inet netcert_fault input { type filter hook input priority 0; policy accept; }; add rule inet netcert_fault input udp dport 8472 counter drop comment "netcert-fault"`,
			"nft delete table inet netcert_fault", "inet netcert_fault"},
	} {
		t.Run(cmp.Or(tc.mode, "default"), func(t *testing.T) {
			ctx := context.Background()
			n := newFirewallNode("kind-worker")
			state := func() []string {
				if tc.mode == "nft-input-drop" {
					var out []string
					for t := range n.tables {
						out = append(out, t)
					}
					return out
				}
				return n.rules
			}
			c := &Cluster{Nodes: []node.Node{node.NewFake("kind-control-plane"), n}, CNI: "flannel"}
			revert, err := OverlayPortBlocked{Node: "kind-worker", Mode: tc.mode}.Inject(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, []string{tc.check, tc.add}, withoutJournal(n.Calls()))
			assert.Equal(t, []string{tc.state}, state())

			require.NoError(t, revert(ctx))
			assert.Equal(t, []string{tc.check, tc.add, tc.check, tc.del}, withoutJournal(n.Calls()))
			assert.Empty(t, state())
			require.NoError(t, revert(ctx), "revert is idempotent")
			assert.Equal(t, []string{tc.check, tc.add, tc.check, tc.del, tc.check}, withoutJournal(n.Calls()), "nothing left to delete")

			// After a repair (ACCEPTs before the rule, in the same chain or table) the revert
			// still deletes exactly the fault's rule, or its own table.
			revert, err = OverlayPortBlocked{Node: "kind-worker", Mode: tc.mode}.Inject(ctx, c)
			require.NoError(t, err)
			accept := "filter INPUT -s 172.18.0.2/32 -p udp -m udp --dport 8472 -m comment --comment netcert-repair -j ACCEPT"
			if tc.mode == "nft-input-drop" {
				n.tables["inet netcert_fault"] = append(n.tables["inet netcert_fault"], "ip saddr 172.18.0.2 udp dport 8472 accept")
			} else {
				n.rules = append([]string{accept}, n.rules...)
			}
			require.NoError(t, revert(ctx))
			require.NoError(t, revert(ctx))
			if tc.mode == "nft-input-drop" {
				assert.Empty(t, n.tables)
			} else {
				assert.Equal(t, []string{accept}, n.rules, "the repair's rule is not the fault's to delete")
			}
		})
	}
}

func TestOverlayPortBlockedRefusesALeftoverAndBadInput(t *testing.T) {
	ctx := context.Background()
	n := newFirewallNode("kind-worker")
	c := &Cluster{Nodes: []node.Node{n}}
	_, err := OverlayPortBlocked{Node: "kind-worker"}.Inject(ctx, c)
	require.NoError(t, err)
	_, err = OverlayPortBlocked{Node: "kind-worker"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "overlay-port-blocked: kind-worker already has the fault's rule (left by an earlier run? remove it with `iptables -w -D INPUT -p udp --dport 8472")
	assert.Len(t, n.rules, 1)

	_, err = OverlayPortBlocked{Node: "kind-worker", Mode: "ebpf"}.Inject(ctx, c)
	assert.ErrorContains(t, err, `unknown mode "ebpf"`)
	_, err = OverlayPortBlocked{Node: "kind-worker", Port: 70000}.Inject(ctx, c)
	assert.ErrorContains(t, err, "bad port 70000")
	_, err = OverlayPortBlocked{Node: "nope"}.Inject(ctx, c)
	assert.ErrorContains(t, err, `no node "nope" (nodes: kind-worker)`)

	// A node without iptables: the check fails with exit 127, nothing is added, no revert.
	revert, err := OverlayPortBlocked{Node: "bare", Port: 4789}.Inject(ctx, &Cluster{Nodes: []node.Node{node.NewFake("bare")}})
	assert.ErrorContains(t, err, "bare$ iptables -w -C INPUT -p udp --dport 4789")
	assert.Nil(t, revert)
}

func TestOverlayPortBlockedFailedInjectLeavesNothing(t *testing.T) {
	ctx := context.Background()
	n := newFirewallNode("kind-worker")
	n.Handle("nft add table", func([]string) (string, int) { return "Error: Could not process rule", 1 })
	_, err := OverlayPortBlocked{Node: "kind-worker", Mode: OverlayPortBlockedNftDrop}.Inject(ctx, &Cluster{Nodes: []node.Node{n}})
	assert.ErrorContains(t, err, "overlay-port-blocked: kind-worker$ nft add table inet netcert_fault")
	assert.Empty(t, n.tables)
	assert.Equal(t, "nft list tables", withoutJournal(n.Calls())[len(withoutJournal(n.Calls()))-1], "the revert looked, found nothing to delete")
}

func TestOverlayPortBlockedAppliesTo(t *testing.T) {
	assert.True(t, OverlayPortBlocked{}.AppliesTo("flannel"))
	assert.False(t, OverlayPortBlocked{}.AppliesTo("calico"), "8472 is not Calico's port")
	assert.False(t, OverlayPortBlocked{Port: 4789}.AppliesTo("calico"), "Felix defends INPUT")
	assert.True(t, OverlayPortBlocked{Port: 4789, Mode: OverlayPortBlockedRawDrop}.AppliesTo("calico"))
	assert.True(t, OverlayPortBlocked{Port: 4789, Mode: OverlayPortBlockedNftDrop}.AppliesTo("calico"))
	assert.False(t, OverlayPortBlocked{Port: 4789}.AppliesTo("flannel"))
	assert.False(t, OverlayPortBlocked{}.AppliesTo("cilium"))
}

// The shapes that name no port: their scripts hold every other node's InternalIP, and the
// revert runs only while the fault is there.
func TestOverlayPortBlockedShapesWithoutAPort(t *testing.T) {
	for _, sc := range []struct{ mode, cni, want string }{
		{OverlayPortBlockedPeerDrop, "flannel", "iptables -w -t filter -I INPUT -s 172.18.0.2/32 -p udp -m comment --comment netcert-fault -j DROP; iptables -w -t filter -I INPUT -s 172.18.0.4/32"},
		{OverlayPortBlockedPeerDrop, "calico", "iptables -w -t raw -I PREROUTING -s 172.18.0.2/32 -p udp"},
		{OverlayPortBlockedSetChain, "calico", "for ip in 172.18.0.2 172.18.0.4; do ipset add netcert-fault $ip; done; iptables -w -t raw -N NETCERT-FAULT; iptables -w -t raw -A NETCERT-FAULT -m set --match-set netcert-fault src -p udp -m comment --comment netcert-fault -j DROP"},
	} {
		n := node.NewFake("kind-worker")
		journalOn(n)
		present := false
		var scripts []string
		n.Handle("sh", func(argv []string) (string, int) {
			script := argv[len(argv)-1]
			scripts = append(scripts, script)
			switch {
			case strings.Contains(script, "|| exit 1"):
				if present {
					return "", 0
				}
				return "", 1
			case strings.Contains(script, "-D "):
				present = false
			default:
				present = true
			}
			return "", 0
		})
		c := &Cluster{Nodes: []node.Node{n}, Client: nodesClient(), CNI: sc.cni}
		f := OverlayPortBlocked{Node: "kind-worker", Mode: sc.mode, Port: map[string]int{"flannel": 8472, "calico": 4789}[sc.cni]}
		require.True(t, f.AppliesTo(sc.cni))
		revert, err := f.Inject(t.Context(), c)
		require.NoError(t, err, sc.mode)
		assert.True(t, present)
		assert.Contains(t, scripts[1], sc.want, sc.mode)
		_, err = f.Inject(t.Context(), c)
		assert.ErrorContains(t, err, "already has the fault's rule", "never twice")
		require.NoError(t, revert(t.Context()))
		assert.False(t, present)
		calls := len(scripts)
		require.NoError(t, revert(t.Context()))
		assert.Len(t, scripts, calls+1, "a second revert only looks")
	}
}

// nodesClient is an API with kind-control-plane, kind-worker and kind-worker2 and their InternalIPs.
func nodesClient() *fake.Clientset {
	var objs []runtime.Object
	for i, name := range []string{"kind-control-plane", "kind-worker", "kind-worker2"} {
		objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("172.18.0.%d", i+2)}}}})
	}
	return fake.NewClientset(objs...)
}
