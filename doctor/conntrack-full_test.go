package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
	"github.com/netcert/netcert/node"
)

// conntrackNode is a fake node whose /proc/sys/net/netfilter prints out.
func conntrackNode(name, out string) *node.Fake {
	return node.NewFake(name).Reply(strings.Join(conntrackRead, " "), out)
}

// A kind worker's real table (captured from /proc: 915 of 262144) passes; 85% warns; a full one
// fails with a manual plan that Apply refuses; no table is not applicable.
func TestConntrackFull(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Nodes: []node.Node{
		conntrackNode("idle", captures.Read(t, "conntrack", "kind-worker-idle.txt")),
		conntrackNode("busy", "222823\n262144\n"),
		conntrackNode("full", "262144\n262144\n"),
		conntrackNode("none", ""),
	}}
	findings, err := ConntrackFull{}.Run(ctx, c)
	require.NoError(t, err)
	require.Len(t, findings, 4)
	assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
	assert.Equal(t, "the conntrack table holds 915 of 262144 entries (0%)", findings[0].Summary)
	assert.Equal(t, Warn, findings[1].Status, "%s", findings[1])
	assert.Equal(t, Fail, findings[2].Status)
	assert.Contains(t, findings[2].Summary, "drops the packets of new flows")
	assert.True(t, isNodeCause(findings[2]), "it explains the traffic that fails through the node")
	assert.Equal(t, NotApplicable, findings[3].Status)

	plan, err := ConntrackFull{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "full: ")
	_, err = ConntrackFull{}.Apply(ctx, c, plan)
	assert.ErrorContains(t, err, "manual steps")

	healthy, err := ConntrackFull{}.Plan(ctx, c, findings[:2])
	require.NoError(t, err)
	assert.True(t, healthy.Empty())
}

func TestConntrackFullRefusesWhatItCannotRead(t *testing.T) {
	_, err := ConntrackFull{}.Run(context.Background(), &Cluster{Nodes: []node.Node{conntrackNode("w1", "12\n0\n")}})
	assert.ErrorContains(t, err, "unexpected nf_conntrack_count and nf_conntrack_max")
	_, err = ConntrackFull{}.Run(context.Background(), &Cluster{Nodes: []node.Node{conntrackNode("w1", "x\n")}})
	assert.Error(t, err)
}
