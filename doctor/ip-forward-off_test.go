package doctor

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/node"
)

// sysctlNode is a fake node with a live ip_forward value and persisted sysctl files (see
// keyNode).
func sysctlNode(name, live string, files map[string]string) *node.Fake {
	return keyNode(name, ipForward.key, live, files)
}

// keyNode is a fake node with a live value of key and persisted sysctl files (file -> line),
// whose sysctl -w and drop-in writes (printf '%s' 'CONTENT' > FILE) change that state.
func keyNode(name, key, live string, files map[string]string) *node.Fake {
	n := node.NewFake(name)
	n.Handle("sysctl -n "+key, func([]string) (string, int) { return live + "\n", 0 })
	n.Handle("sysctl -w", func(argv []string) (string, int) {
		live = strings.TrimPrefix(argv[2], key+"=")
		return key + " = " + live + "\n", 0
	})
	n.Handle("sh -c", func(argv []string) (string, int) {
		if content, file, ok := strings.Cut(argv[2], "' > "); ok {
			for _, line := range strings.Split(content, "\n") {
				if strings.HasPrefix(line, key) {
					files[file] = line
				}
			}
		}
		return "", 0
	})
	n.Handle(strings.Join(sysctl.PersistedGrep(path.Ext(key)[1:]), " "), func([]string) (string, int) {
		var out []string
		for file, line := range files {
			out = append(out, file+":"+line)
		}
		if len(out) == 0 {
			return "", 1
		}
		return strings.Join(out, "\n") + "\n", 0
	})
	return n
}

func TestIPForwardOffQuietOnAHealthyNode(t *testing.T) {
	c := &Cluster{Nodes: []node.Node{sysctlNode("w1", "1", map[string]string{})}}
	findings, err := IPForwardOff{}.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Pass, findings[0].Status)
	plan, err := IPForwardOff{}.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestIPForwardOffFiresOnTheLiveValue(t *testing.T) {
	c := &Cluster{Nodes: []node.Node{sysctlNode("w1", "1", map[string]string{}), sysctlNode("w2", "0", map[string]string{})}}
	findings, err := IPForwardOff{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1)
	assert.Equal(t, "w2", failed[0].Node)
	assert.Contains(t, failed[0].Summary, "net.ipv4.ip_forward is 0")
	assert.Equal(t, "w2$ sysctl -n net.ipv4.ip_forward", failed[0].Evidence[0].Source)
	assert.Equal(t, "0", failed[0].Evidence[0].Output)
}

func TestIPForwardOffFiresOnAPersistedZero(t *testing.T) {
	files := map[string]string{"/etc/sysctl.d/10-hardening.conf": "net.ipv4.ip_forward=0"}
	c := &Cluster{Nodes: []node.Node{sysctlNode("w1", "1", files)}}
	findings, err := IPForwardOff{}.Run(context.Background(), c)
	require.NoError(t, err)
	require.Equal(t, Fail, findings[0].Status)
	assert.Contains(t, findings[0].Summary, "/etc/sysctl.d/10-hardening.conf persists")
}

func TestIPForwardOffRepairIsVerifiedAndIdempotent(t *testing.T) {
	files := map[string]string{"/etc/sysctl.d/10-hardening.conf": "net.ipv4.ip_forward = 0"}
	n := sysctlNode("w1", "0", files)
	c := &Cluster{Nodes: []node.Node{n}}
	ctx := context.Background()
	findings, err := IPForwardOff{}.Run(ctx, c)
	require.NoError(t, err)
	plan, err := IPForwardOff{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	require.Empty(t, plan.Manual)

	rec, err := IPForwardOff{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)

	rec, err = IPForwardOff{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.False(t, rec.Steps[0].Changed, "the first Apply already set the value and wrote the drop-in")

	findings, err = IPForwardOff{}.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
	calls := strings.Join(n.Calls(), "\n")
	assert.Equal(t, 1, strings.Count(calls, "sysctl -w"), "the second Apply changed nothing")
}

func TestIPForwardOffManualWhenSysctlConfPersistsZero(t *testing.T) {
	// /etc/sysctl.conf is read after every drop-in: netcert's drop-in cannot win, and netcert does
	// not edit a file it did not write.
	files := map[string]string{"/etc/sysctl.conf": "net.ipv4.ip_forward = 0"}
	n := sysctlNode("w1", "0", files)
	c := &Cluster{Nodes: []node.Node{n, sysctlNode("w2", "0", map[string]string{})}}
	ctx := context.Background()
	findings, err := IPForwardOff{}.Run(ctx, c)
	require.NoError(t, err)
	plan, err := IPForwardOff{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, "w2", plan.Actions[0].Node)
	assert.Equal(t, []string{"w1: /etc/sysctl.conf sets net.ipv4.ip_forward = 0 and is read after every sysctl.d drop-in, " +
		"so a drop-in cannot override it: change that line to `net.ipv4.ip_forward = 1` (netcert does not edit files it " +
		"did not write), then run `sysctl -w net.ipv4.ip_forward=1`"}, plan.Manual)
	_, err = IPForwardOff{}.Apply(ctx, c, plan)
	assert.ErrorContains(t, err, "needs manual steps")
	assert.NotContains(t, strings.Join(n.Calls(), "\n"), "sysctl -w", "nothing was changed")
}

func TestIPForwardOffCannotEvaluateAnUnreachableNode(t *testing.T) {
	c := &Cluster{Nodes: []node.Node{node.NewFake("gone")}}
	_, err := IPForwardOff{}.Run(context.Background(), c)
	assert.ErrorContains(t, err, "gone$ sysctl -n net.ipv4.ip_forward")
}
