package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/node"
)

// sandboxedNode is a netnsNode whose commands see an empty tmpfs on /etc/sysctl.d, so that a
// repair's drop-in never lands on this machine.
type sandboxedNode struct{ netnsNode }

func (n sandboxedNode) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	var stdout, stderr strings.Builder
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "sh", "-c", `mount -t tmpfs netcert-test /etc/sysctl.d && exec "$@"`, "netcert-sandbox",
		"ip", "netns", "exec", n.ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if exitErr, ok := err.(*exec.ExitError); ok {
		err = &node.ExecError{Node: n.name, Argv: argv, ExitCode: exitErr.ExitCode(), Stderr: stderr.String()}
	}
	return []byte(stdout.String()), []byte(stderr.String()), err
}

// asymmetricNetns builds a multi-homed node: namespace "kind-worker" holds its InternalIP
// 192.168.50.2 on ens3 and a second uplink ens4, both to its peer "kind-worker2" (InternalIP
// 10.99.0.3 on its loopback); the peer reaches the node's pods (cni0, 10.244.1.0/24, a pod at
// 10.244.1.5 running netcert-probe's UDP echo on 7000) through ens3, while the node's route back
// to the peer (and to its pods, 10.244.2.0/24) leaves through ens4. It returns the node and a
// probe from the peer to the pod.
func asymmetricNetns(t *testing.T, bin string) (netnsNode, func() bool) {
	t.Helper()
	pid := os.Getpid()
	nodeNS, peer, pod := fmt.Sprintf("netcert-test-rpn%d", pid), fmt.Sprintf("netcert-test-rpp%d", pid), fmt.Sprintf("netcert-test-rpd%d", pid)
	run := func(ns string, args ...string) {
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s: %s: %s", ns, strings.Join(args, " "), out)
	}
	for _, ns := range []string{nodeNS, peer, pod} {
		out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput()
		require.NoError(t, err, "%s", out)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
			"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
		run(ns, "ip", "link", "set", "lo", "up")
	}
	for _, cmd := range []string{
		"ip link add ens3 type veth peer name p0 netns " + peer,
		"ip link add ens4 type veth peer name p1 netns " + peer,
		"ip addr add 192.168.50.2/24 dev ens3", "ip addr add 192.168.60.2/24 dev ens4",
		"ip link set ens3 up", "ip link set ens4 up",
		"ip route add 10.99.0.3/32 via 192.168.60.3 dev ens4", "ip route add 10.244.2.0/24 via 192.168.60.3 dev ens4",
		"ip link add cni0 type bridge", "ip addr add 10.244.1.1/24 dev cni0", "ip link set cni0 up",
		"ip link add vethpod type veth peer name eth0 netns " + pod, "ip link set vethpod master cni0", "ip link set vethpod up",
		"sysctl -qw net.ipv4.ip_forward=1",
	} {
		run(nodeNS, strings.Fields(cmd)...)
	}
	for _, cmd := range []string{
		"ip addr add 10.99.0.3/32 dev lo", "ip addr add 192.168.50.3/24 dev p0", "ip addr add 192.168.60.3/24 dev p1",
		"ip link set p0 up", "ip link set p1 up", "ip route add 10.244.1.0/24 via 192.168.50.2 dev p0 src 10.99.0.3",
	} {
		run(peer, strings.Fields(cmd)...)
	}
	for _, cmd := range []string{"ip addr add 10.244.1.5/24 dev eth0", "ip link set eth0 up", "ip route add default via 10.244.1.1"} {
		run(pod, strings.Fields(cmd)...)
	}
	return netnsNode{name: "kind-worker", ns: nodeNS}, udpEcho(t, bin, pod, peer, "10.244.1.5:7000")
}

// TestRPFilterStrictOnARealKernel injects strict filtering into a multi-homed node namespace:
// the peer's real traffic to a pod stops, the check names the interface it comes in on, the
// repair's commands (the real sysctl, its drop-in in a sandbox) let it through and the check
// passes; the fault's revert gives every value back.
func TestRPFilterStrictOnARealKernel(t *testing.T) {
	bin := probeForKernelTest(t, "sysctl", "unshare")
	ctx := context.Background()
	n, through := asymmetricNetns(t, bin)
	worker, peer := apiNode("kind-worker", "192.168.50.2"), apiNode("kind-worker2", "10.99.0.3")
	worker.Spec.PodCIDRs, peer.Spec.PodCIDRs = []string{"10.244.1.0/24"}, []string{"10.244.2.0/24"}
	c := &Cluster{Nodes: []node.Node{sandboxedNode{n}}, CNI: "flannel",
		Client: fake.NewClientset(worker, peer, flannelVXLANConfigMap("10.244.0.0/16"))}
	values := func() map[string]int {
		out, err := node.Run(ctx, n, sysctl.ConfArgv(rpFilter)...)
		require.NoError(t, err)
		return sysctl.ParseConf(out, rpFilter)
	}
	p := RPFilterStrict{}

	require.True(t, through(), "the peer reaches the pod before the fault")
	findings, err := p.Run(ctx, c)
	require.NoError(t, err)
	require.Equal(t, []string{"Pass kind-worker"}, statuses(findings), "%v", findings)
	assert.Contains(t, findings[0].Summary, "no interface validates sources strictly (rp_filter all=0), and every one of the 3 kinds of packet")
	before := values()

	revert, err := faults.RPFilterStrict{Node: "kind-worker"}.Inject(ctx, &faults.Cluster{Nodes: []node.Node{n}, CNI: "flannel"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = revert(ctx) })
	require.False(t, through(), "the symptom is real: strict filtering drops the peer's packets on ens3")
	findings, err = p.Run(ctx, c)
	require.NoError(t, err)
	require.Equal(t, []string{"Fail kind-worker"}, statuses(findings), "%v", findings)
	assert.Contains(t, findings[0].Summary, "ens3 (rp_filter all=1, ens3=1: strict) refuses packets from 10.244.2.1 (node kind-worker2's pod range 10.244.2.0/24) to 10.244.1.5: "+
		"the route back to it leaves through ens4 (10.244.2.1/32 via 192.168.60.3 dev ens4); and from 10.99.0.3 (node kind-worker2's InternalIP)")
	assert.NotContains(t, findings[0].Summary, "cni0 (", "the pod's own packets validate: its route leaves through cni0")
	for _, ev := range findings[0].Evidence {
		if strings.Contains(ev.Source, "$ ip route get") {
			t.Logf("%s\n%s", ev.Source, ev.Output)
		}
	}

	plan, err := p.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Empty(t, plan.Manual)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, []string{"sysctl", "-w", "net/ipv4/conf/all/rp_filter=2", "net/ipv4/conf/ens3/rp_filter=2"}, plan.Actions[0].Argv[0])
	repairHeals(t, p, c, plan, through) // loose filtering lets the peer's packets through

	require.NoError(t, revert(ctx))
	require.NoError(t, revert(ctx), "revert again")
	assert.Equal(t, before, values(), "every value is back")
	assert.True(t, through())
	findings, err = p.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
}
