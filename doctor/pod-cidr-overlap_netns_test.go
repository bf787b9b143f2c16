package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/node"
)

// netnsNode is a node that is a network namespace of this machine: the kernel is real, nothing
// leaves the namespace.
type netnsNode struct{ name, ns string }

func (n netnsNode) Name() string { return n.name }

func (n netnsNode) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return stdout.Bytes(), stderr.Bytes(), &node.ExecError{Node: n.name, Argv: argv, ExitCode: exitErr.ExitCode(), Stderr: stderr.String()}
	}
	return stdout.Bytes(), stderr.Bytes(), err
}

// flannelNetns builds a namespace like a kind control-plane running Flannel (capture.sh's
// "flannel-cp"), with IPv6 off so that no interface sends anything, and deletes it at cleanup.
func flannelNetns(t *testing.T) netnsNode {
	t.Helper()
	ns := fmt.Sprintf("netcert-test-%d", os.Getpid())
	require.NoError(t, exec.Command("ip", "netns", "add", ns).Run())
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	for _, cmd := range []string{
		"sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
		"ip link set lo up",
		"ip link add eth0 type veth peer name dockerside0",
		"ip addr add 172.18.0.2/16 dev eth0", "ip link set eth0 up", "ip link set dockerside0 up",
		"ip route add default via 172.18.0.1 dev eth0",
		"ip link add flannel.1 type vxlan id 1 local 172.18.0.2 dev eth0 dstport 8472 nolearning",
		"ip addr add 10.244.0.0/32 dev flannel.1", "ip link set flannel.1 up",
		"ip link add cni0 type bridge", "ip addr add 10.244.0.1/24 dev cni0", "ip link set cni0 up",
		"ip route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink",
	} {
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, strings.Fields(cmd)...)...).CombinedOutput()
		require.NoError(t, err, "%s: %s", cmd, out)
	}
	return netnsNode{name: "kind-control-plane", ns: ns}
}

// TestPodCIDROverlapOnARealKernel runs fault, check, repair and revert against a network
// namespace: the argv they build are run by the real iproute2 and kernel.
func TestPodCIDROverlapOnARealKernel(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace; skipped with -short")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no iproute2")
	}
	ctx := context.Background()
	n := flannelNetns(t)
	objs := healthyAPI.objects()
	c := &Cluster{Nodes: []node.Node{n}, Client: fake.NewClientset(objs...), CNI: "flannel"}
	findings, err := PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	require.Empty(t, Failed(findings), "%v", findings)

	fault := faults.PodCIDROverlap{Node: "kind-control-plane", TargetNode: "kind-worker"}
	revert, err := fault.Inject(ctx, &faults.Cluster{Nodes: c.Nodes, Client: c.Client, CNI: c.CNI})
	require.NoError(t, err)
	t.Cleanup(func() { _ = revert(ctx) })

	findings, err = PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 1, "%v", findings)
	assert.Equal(t, "route 10.244.1.0/25 dev ncfault0", failed[0].Object)

	plan, err := PodCIDROverlap{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "no deletion without the person's consent")
	// A real ip rule that names a range overlapping the route: policy routing may use it.
	_, err = node.Run(ctx, n, "ip", "rule", "add", "from", "10.244.1.0/26", "lookup", "100", "priority", "100")
	require.NoError(t, err)
	plan, err = consented.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "ip rules refer to route 10.244.1.0/25 dev ncfault0 (100: from 10.244.1.0/26 lookup 100)")
	_, err = node.Run(ctx, n, "ip", "rule", "del", "priority", "100")
	require.NoError(t, err)

	plan, err = consented.Plan(ctx, c, findings)
	require.NoError(t, err)
	rec, err := PodCIDROverlap{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.True(t, rec.Steps[0].Changed)
	rec, err = PodCIDROverlap{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.False(t, rec.Steps[0].Changed, "idempotent")

	findings, err = PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))

	require.NoError(t, revert(ctx), "revert after the repair removed the route")
	require.NoError(t, revert(ctx), "revert again")
	out, err := node.Run(ctx, n, "ip", "link", "show")
	require.NoError(t, err)
	assert.NotContains(t, out, "ncfault")
	out, err = node.Run(ctx, n, "ip", "route", "show")
	require.NoError(t, err)
	assert.Contains(t, out, "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink", "Flannel's route survives it all")
}
