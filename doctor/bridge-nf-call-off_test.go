package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// bridgeNode is a fake node with bridge-nf-call-iptables live and persisted; bridged says whether
// its interfaces are a Flannel worker's (cni0 holding pod veths) or a routed node's.
func bridgeNode(t *testing.T, name, live string, files map[string]string, bridged bool) *node.Fake {
	links := `[{"ifname":"lo","flags":["UP"],"mtu":65536},{"ifname":"eth0","flags":["UP","LOWER_UP"],"mtu":1500,"linkinfo":{"info_kind":"veth"}},
		{"ifname":"cali0123456789a","flags":["UP","LOWER_UP"],"mtu":1450,"linkinfo":{"info_kind":"veth"}},{"ifname":"docker0","flags":["UP"],"mtu":1500,"linkinfo":{"info_kind":"bridge"}}]`
	if bridged {
		links = captures.Read(t, "iproute", "flannel-worker-link.json")
	}
	n := keyNode(name, bridgeNFCall.key, live, files)
	n.Handle(strings.Join(iproute.LinkShowArgv, " "), func([]string) (string, int) { return links, 0 })
	return n
}

func TestBridgeNFCallOffQuietOnHealthyAndRoutedNodes(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Nodes: []node.Node{
		bridgeNode(t, "w1", "1", map[string]string{}, true),
		// A routed node (Calico's shape, a bridge without ports): the value does not matter.
		bridgeNode(t, "w2", "0", map[string]string{"/etc/sysctl.d/10-x.conf": "net.bridge.bridge-nf-call-iptables = 0"}, false),
	}}
	findings, err := BridgeNFCallOff{}.Run(ctx, c)
	require.NoError(t, err)
	require.Len(t, findings, 2)
	assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
	assert.Equal(t, NotApplicable, findings[1].Status, "%s", findings[1])
	assert.Contains(t, findings[1].Summary, "no bridge")
	plan, err := BridgeNFCallOff{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestBridgeNFCallOffFiresRepairsAndPersists(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{}
	c := &Cluster{Nodes: []node.Node{bridgeNode(t, "w1", "0", files, true)}}
	findings, err := BridgeNFCallOff{}.Run(ctx, c)
	require.NoError(t, err)
	require.Len(t, Failed(findings), 1)
	assert.Contains(t, findings[0].Summary, "net.bridge.bridge-nf-call-iptables is 0")
	assert.True(t, isNodeCause(findings[0]), "a node-level cause: it explains the traffic through the node")

	plan, err := BridgeNFCallOff{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Empty(t, plan.Manual)
	assert.Len(t, plan.Actions[0].Argv, 3, "set, persist, load br_netfilter at boot")
	rec, err := BridgeNFCallOff{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.True(t, rec.Steps[0].Changed)
	assert.Equal(t, "net.bridge.bridge-nf-call-iptables = 1", files[bridgeNFCall.dropIn])
	again, err := BridgeNFCallOff{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.False(t, again.Steps[0].Changed, "idempotent")
}

// A persisted 0 that a drop-in cannot override (/etc/sysctl.conf is read last) is a manual step;
// one in an earlier drop-in is overridden by netcert's.
func TestBridgeNFCallOffPersistedZero(t *testing.T) {
	ctx := context.Background()
	for file, manual := range map[string]bool{"/etc/sysctl.conf": true, "/usr/lib/sysctl.d/50-hardening.conf": false} {
		c := &Cluster{Nodes: []node.Node{bridgeNode(t, "w1", "1", map[string]string{file: "net/bridge/bridge-nf-call-iptables=0"}, true)}}
		findings, err := BridgeNFCallOff{}.Run(ctx, c)
		require.NoError(t, err)
		require.Len(t, Failed(findings), 1, file)
		assert.Contains(t, findings[0].Summary, "comes back at reboot")
		plan, err := BridgeNFCallOff{}.Plan(ctx, c, findings)
		require.NoError(t, err)
		assert.Equal(t, manual, len(plan.Manual) == 1, file)
		assert.Equal(t, !manual, len(plan.Actions) == 1, file)
	}
}

// Without br_netfilter the key does not exist: bridged frames skip iptables, and loading a kernel
// module is left to a person.
func TestBridgeNFCallOffWithoutBrNetfilter(t *testing.T) {
	ctx := context.Background()
	n := bridgeNode(t, "w1", "1", map[string]string{}, true)
	n.Handle("sysctl -n "+bridgeNFCall.key, func([]string) (string, int) {
		return "sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory\n", 255
	})
	c := &Cluster{Nodes: []node.Node{n}}
	findings, err := BridgeNFCallOff{}.Run(ctx, c)
	require.NoError(t, err)
	require.Len(t, Failed(findings), 1)
	assert.Contains(t, findings[0].Summary, "br_netfilter is not loaded")
	plan, err := BridgeNFCallOff{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "modprobe br_netfilter")
}
