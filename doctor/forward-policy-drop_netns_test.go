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

	"github.com/netcert/netcert/faults"
)

// forwardNetns routes between a pod namespace (10.244.1.5) and another (10.244.2.5, running
// netcert-probe's UDP echo on 7000) through a node namespace whose iptables-nft filter FORWARD
// holds Flannel's accepts. It returns the node's namespace and a probe of the path through it.
func forwardNetns(t *testing.T, bin string) (string, func() bool) {
	t.Helper()
	pid := os.Getpid()
	nodeNS, src, dst := fmt.Sprintf("netcert-test-fpn%d", pid), fmt.Sprintf("netcert-test-fps%d", pid), fmt.Sprintf("netcert-test-fpd%d", pid)
	run := func(args ...string) {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		require.NoError(t, err, "%s: %s", strings.Join(args, " "), out)
	}
	for _, ns := range []string{nodeNS, src, dst} {
		run("ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		run("ip", "-n", ns, "link", "set", "lo", "up")
	}
	run("ip", "netns", "exec", nodeNS, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	for i, pod := range []string{src, dst} {
		dev, gw, addr := fmt.Sprintf("a%d", i), fmt.Sprintf("10.244.%d.1", i+1), fmt.Sprintf("10.244.%d.5", i+1)
		run("ip", "-n", nodeNS, "link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", pod)
		run("ip", "-n", nodeNS, "addr", "add", gw+"/24", "dev", dev)
		run("ip", "-n", pod, "addr", "add", addr+"/24", "dev", "eth0")
		run("ip", "-n", nodeNS, "link", "set", dev, "up")
		run("ip", "-n", pod, "link", "set", "eth0", "up")
		run("ip", "-n", pod, "route", "add", "default", "via", gw)
	}
	flannel := "iptables-nft -w -N FLANNEL-FWD && iptables-nft -w -A FLANNEL-FWD -s 10.244.0.0/16 -j ACCEPT && " +
		"iptables-nft -w -A FLANNEL-FWD -d 10.244.0.0/16 -j ACCEPT && iptables-nft -w -A FORWARD -j FLANNEL-FWD"
	run("ip", "netns", "exec", nodeNS, "sh", "-ec", flannel)
	return nodeNS, udpEcho(t, bin, dst, src, "10.244.2.5:7000")
}

// TestForwardPolicyDropOnARealKernel injects each mode of the fault into a node namespace that
// routes real pod traffic: the traffic stops, the check names the chain, the repair's commands
// (run by the real iptables and nft) let the traffic through, and the revert leaves a healthy node.
func TestForwardPolicyDropOnARealKernel(t *testing.T) {
	bin := probeForKernelTest(t, "iptables-nft", "iptables-legacy", "nft")
	for _, mode := range []string{faults.ForwardPolicyDropLegacy, faults.ForwardPolicyDropNftTable} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			ns, through := forwardNetns(t, bin)
			c := forwardCluster(t, "flannel", netnsNode{name: "kind-worker", ns: ns})
			p := ForwardPolicyDrop{}
			require.True(t, through(), "pod traffic is routed before the fault")
			findings, err := p.Run(ctx, c)
			require.NoError(t, err)
			require.Empty(t, Failed(findings), "%v", findings)

			revert, err := faults.ForwardPolicyDrop{Node: "kind-worker", Mode: mode}.Inject(ctx, &faults.Cluster{Nodes: c.Nodes, CNI: "flannel"})
			require.NoError(t, err)
			t.Cleanup(func() { _ = revert(ctx) })
			require.False(t, through(), "the symptom is real")
			findings, err = p.Run(ctx, c)
			require.NoError(t, err)
			require.Equal(t, []string{"Pass kind-control-plane", "Fail kind-worker", "Pass kind-worker2"}, statuses(findings), "%v", findings)
			where := map[string]string{faults.ForwardPolicyDropLegacy: "iptables-legacy filter FORWARD policy",
				faults.ForwardPolicyDropNftTable: "nft inet netcert-fault-forward forward policy"}[mode]
			assert.True(t, strings.HasPrefix(findings[1].Summary, where), findings[1].Summary)

			plan, err := p.Plan(ctx, c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1)
			repairHeals(t, p, c, plan, through)

			require.NoError(t, revert(ctx))
			require.NoError(t, revert(ctx), "revert again")
			assert.True(t, through())
			findings, err = p.Run(ctx, c)
			require.NoError(t, err)
			assert.Empty(t, Failed(findings))
			v, err := readNodeViews(ctx, c.Nodes[1])
			require.NoError(t, err)
			assert.Nil(t, v.ruleset("nft").Chain("inet", faults.ForwardPolicyDropTable, "forward"), "the fault's table is gone")
			if legacy := v.ruleset("iptables-legacy").Chain("ip", "filter", "FORWARD"); legacy != nil {
				assert.Equal(t, "ACCEPT", legacy.Policy, "the policy it found is back")
			}
		})
	}
}
