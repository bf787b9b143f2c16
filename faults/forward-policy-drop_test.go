package faults

import (
	"cmp"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/node"
)

// forwardFaultNode is a fake node with iptables-legacy's FORWARD policy and nft's tables as
// state; `sh -c` runs a journaled revert against them.
type forwardFaultNode struct {
	*node.Fake
	policy  string
	tables  map[string]string // "inet name" → the command that added it
	journal *fakeJournal
}

func newForwardFaultNode(policy string) *forwardFaultNode {
	n := &forwardFaultNode{Fake: node.NewFake("w1"), policy: policy, tables: map[string]string{}}
	n.journal = journalOn(n.Fake)
	n.Handle("iptables-legacy -w -t filter -S FORWARD", func([]string) (string, int) { return "-P FORWARD " + n.policy + "\n", 0 })
	n.Handle("iptables-legacy -w -t filter -P FORWARD", func(argv []string) (string, int) {
		n.policy = argv[6]
		return "", 0
	})
	n.Handle("nft list tables", func([]string) (string, int) {
		var out []string
		for t := range n.tables {
			out = append(out, "table "+t)
		}
		return strings.Join(out, "\n"), 0
	})
	n.Handle("nft add table", func(argv []string) (string, int) {
		n.tables["inet "+ForwardPolicyDropTable] = strings.Join(argv, " ")
		return "", 0
	})
	n.Handle("sh -c", func(argv []string) (string, int) {
		script := argv[2]
		if strings.HasPrefix(script, "if nft list table inet "+ForwardPolicyDropTable+" ") {
			delete(n.tables, "inet "+ForwardPolicyDropTable)
			return "", 0
		}
		words := strings.Fields(strings.ReplaceAll(script, "'", ""))
		_, _, err := n.Exec(context.Background(), words...)
		if err != nil {
			return "", 1
		}
		return "", 0
	})
	return n
}

// changes returns the calls that are not reads nor the journal's.
func (n *forwardFaultNode) changes() []string {
	var out []string
	for _, call := range withoutJournal(n.Calls()) {
		if !strings.Contains(call, " -S ") && call != "nft list tables" {
			out = append(out, call)
		}
	}
	return out
}

func TestForwardPolicyDropInjectsAndReverts(t *testing.T) {
	for _, tc := range []struct {
		mode, add, undo string
		broken          func(n *forwardFaultNode) bool
	}{
		{"", "iptables-legacy -w -t filter -P FORWARD DROP", "'iptables-legacy' '-w' '-t' 'filter' '-P' 'FORWARD' 'ACCEPT'",
			func(n *forwardFaultNode) bool { return n.policy == "DROP" }},
		{ForwardPolicyDropNftTable, "nft add table inet netcert-fault-forward; add chain inet netcert-fault-forward forward { type filter hook forward priority filter; policy drop; }",
			"if nft list table inet netcert-fault-forward >/dev/null 2>&1; then nft delete table inet netcert-fault-forward; fi",
			func(n *forwardFaultNode) bool { return len(n.tables) > 0 }},
	} {
		t.Run(cmp.Or(tc.mode, "default"), func(t *testing.T) {
			ctx := context.Background()
			n := newForwardFaultNode("ACCEPT")
			c := &Cluster{Nodes: []node.Node{node.NewFake("cp"), n}, CNI: "calico"}
			f := ForwardPolicyDrop{Node: "w1", Mode: tc.mode}
			assert.Equal(t, "forward-policy-drop", f.Name())
			assert.True(t, f.AppliesTo("flannel") && f.AppliesTo("calico"))
			revert, err := f.Inject(ctx, c)
			require.NoError(t, err)
			assert.True(t, tc.broken(n))
			assert.Equal(t, []string{tc.add}, n.changes())
			mode := tc.mode
			if mode == "" {
				mode = ForwardPolicyDropLegacy
			}
			assert.Equal(t, map[string]string{JournalDir + "/forward-policy-drop-" + mode: tc.undo}, n.journal.entries, "journaled")

			_, err = f.Inject(ctx, c)
			assert.ErrorContains(t, err, "left by an earlier run?", "a second injection is refused")

			require.NoError(t, revert(ctx))
			assert.False(t, tc.broken(n))
			assert.Equal(t, "ACCEPT", n.policy)
			assert.Empty(t, n.journal.entries, "the revert drops its journal entry")
			require.NoError(t, revert(ctx), "revert is idempotent")
			assert.False(t, tc.broken(n))

			// A killed run: `netcert clean` runs the journal entry.
			_, err = f.Inject(ctx, c)
			require.NoError(t, err)
			reverted, err := RevertJournal(ctx, n)
			require.NoError(t, err)
			assert.Equal(t, []string{"forward-policy-drop-" + mode}, reverted)
			assert.Equal(t, []string{tc.undo}, n.journal.ran)
		})
	}
}

func TestForwardPolicyDropRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Nodes: []node.Node{newForwardFaultNode("DROP")}}
	_, err := ForwardPolicyDrop{Node: "w1"}.Inject(ctx, c)
	assert.ErrorContains(t, err, "forward-policy-drop: the FORWARD policy of iptables-legacy's filter table on w1 is DROP already")
	_, err = ForwardPolicyDrop{Node: "w1", Mode: "ebtables"}.Inject(ctx, c)
	assert.ErrorContains(t, err, `unknown mode "ebtables" (want legacy-policy or nft-table)`)
	_, err = ForwardPolicyDrop{Node: "nope"}.Inject(ctx, c)
	assert.ErrorContains(t, err, `no node "nope" (nodes: w1)`)
	revert, err := ForwardPolicyDrop{Node: "bare"}.Inject(ctx, &Cluster{Nodes: []node.Node{node.NewFake("bare")}})
	assert.ErrorContains(t, err, "bare$ iptables-legacy -w -t filter -S FORWARD")
	assert.Nil(t, revert)
}
