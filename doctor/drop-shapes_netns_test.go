package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/probe"
)

// Firewall shapes of our own, none of them an injector's, each put in a real namespace that real
// UDP probes cross: the check must name the rule from the kernel's counters, and its repair must
// let the probes through.
var realDropShapes = []struct {
	name, setup, named string
}{
	{"peer-udp-drop-no-port", "iptables-nft -A INPUT -s 169.254.77.1/32 -p udp -j DROP",
		"iptables-nft filter INPUT #1 `-A INPUT -s 169.254.77.1/32 -p udp -j DROP` drops udp/8472"},
	{"ipset-in-raw-user-chain", "ipset create quarantine hash:ip && ipset add quarantine 169.254.77.1 && iptables-nft -t raw -N QUARANTINE && " +
		"iptables-nft -t raw -A QUARANTINE -m set --match-set quarantine src -j DROP && iptables-nft -t raw -A PREROUTING -j QUARANTINE",
		"iptables-nft raw QUARANTINE #1 `-A QUARANTINE -m set --match-set quarantine src -j DROP` drops udp/8472"},
	{"input-policy-drop", "iptables-nft -A INPUT -i lo -j ACCEPT && iptables-nft -A INPUT -p tcp --dport 22 -j ACCEPT && iptables-nft -P INPUT DROP",
		"iptables-nft filter INPUT policy `policy DROP` drops udp/8472"},
	{"legacy-reject-port-range", "iptables-legacy -A INPUT -p udp -m multiport --dports 8000:9000 -j REJECT",
		"iptables-legacy filter INPUT #1 `-A INPUT -p udp -m multiport --dports 8000:9000 -j REJECT --reject-with icmp-port-unreachable` rejects udp/8472"},
	{"nft-set-of-peers", `nft 'add table inet hostfw; add set inet hostfw peers { type ipv4_addr; elements = { 169.254.77.1, 169.254.77.9 }; }; ` +
		`add chain inet hostfw input { type filter hook input priority 10; policy accept; }; add rule inet hostfw input ip saddr @peers meta l4proto udp counter drop'`,
		"nft inet hostfw input handle"},
}

// realPairProber sends a real UDP echo probe from the namespace src (169.254.77.1) to the probe
// server in kind-worker's namespace (169.254.77.2:8472) for every pair involving kind-worker.
type realPairProber struct{ bin, src string }

func (p realPairProber) PodPairs(ctx context.Context, pairs []NodePair) ([]PairResult, error) {
	return pairByPair(ctx, pairs, p.podToPod)
}

func (p realPairProber) podToPod(ctx context.Context, from, to string) (bool, Evidence, error) {
	if from != "kind-worker" && to != "kind-worker" {
		return true, Evidence{Source: from + "→" + to, Output: "not involved"}, nil
	}
	argv := []string{"netns", "exec", p.src, p.bin, "udp", "--timeout", "500ms", "169.254.77.2:8472"}
	out, _ := exec.CommandContext(ctx, "ip", argv...).Output()
	res, err := probe.ParseResult(out)
	return res.OK, Evidence{Source: "ip " + strings.Join(argv, " "), Output: strings.TrimSpace(string(out))}, err
}

func (realPairProber) DNS(context.Context, string, string) (bool, Evidence, error) {
	return false, Evidence{}, fmt.Errorf("no DNS here")
}

func TestDropShapesOnARealKernel(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces; skipped with -short")
	}
	for _, tool := range []string{"ip", "iptables-nft", "iptables-legacy", "nft", "ipset", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("no " + tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "netcert-probe")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/netcert-probe").CombinedOutput()
	require.NoError(t, err, "%s", out)
	idle := dropIdleWindow
	dropIdleWindow = 300 * time.Millisecond // nothing else sends in these namespaces
	t.Cleanup(func() { dropIdleWindow = idle })

	for _, sc := range realDropShapes {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			src, dst := realPair(t, bin)
			sh := func(script string) {
				out, err := exec.Command("ip", "netns", "exec", dst, "sh", "-ec", script).CombinedOutput()
				require.NoError(t, err, "%s: %s", script, out)
			}
			prober := realPairProber{bin: bin, src: src}
			ok, _, err := prober.podToPod(ctx, "kind-control-plane", "kind-worker")
			require.NoError(t, err)
			require.True(t, ok, "the probe passes before the rule")
			sh(sc.setup)
			ok, _, err = prober.podToPod(ctx, "kind-control-plane", "kind-worker")
			require.NoError(t, err)
			require.False(t, ok, "the symptom is real: the rule drops the probe")

			w := netnsNode{name: "kind-worker", ns: dst}
			cp, w2 := newOverlayNode(t, "kind-control-plane", "flannel-healthy"), newOverlayNode(t, "kind-worker2", "flannel-healthy")
			cs := fake.NewClientset(apiNode("kind-control-plane", "169.254.77.1"), apiNode("kind-worker", "169.254.77.2"),
				apiNode("kind-worker2", "169.254.77.3"), flannelVXLANConfigMap("10.244.0.0/16"))
			c := &Cluster{Nodes: []node.Node{cp, w, w2}, Client: cs, CNI: "flannel", Probe: prober}
			findings, err := OverlayPortBlocked{}.Run(ctx, c)
			require.NoError(t, err)
			require.Equal(t, []string{"Fail kind-worker"}, statuses(findings), "%v", findings)
			assert.True(t, strings.HasPrefix(findings[0].Summary, sc.named), findings[0].Summary)
			// A rule naming the port needs no idle window; one of another shape is compared with its idle rate.
			assert.Regexp(t, `counted \d+ packets while the probes ran(, 0 while idle)?\)`, findings[0].Summary)
			assert.Equal(t, !strings.Contains(sc.setup, "dports"), strings.Contains(findings[0].Summary, "while idle"), findings[0].Summary)

			plan, err := OverlayPortBlocked{}.Plan(ctx, c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1)
			_, err = OverlayPortBlocked{}.Apply(ctx, c, plan)
			require.NoError(t, err, "the repair's ACCEPTs let the real probes through")
			ok, _, err = prober.podToPod(ctx, "kind-control-plane", "kind-worker")
			require.NoError(t, err)
			assert.True(t, ok, "real traffic after the repair")
			rec, err := OverlayPortBlocked{}.Apply(ctx, c, plan)
			require.NoError(t, err)
			assert.False(t, rec.Steps[0].Changed, "idempotent")
			findings, err = OverlayPortBlocked{}.Run(ctx, c)
			require.NoError(t, err)
			assert.Empty(t, Failed(findings))
		})
	}
}

// realPair makes two namespaces joined by a veth pair, src at 169.254.77.1 and dst at
// 169.254.77.2 running netcert-probe's UDP echo on 8472, and removes them at cleanup.
func realPair(t *testing.T, bin string) (src, dst string) {
	t.Helper()
	src, dst = fmt.Sprintf("netcert-test-src%d", os.Getpid()), fmt.Sprintf("netcert-test-dst%d", os.Getpid())
	ipc := func(args string) {
		out, err := exec.Command("ip", strings.Fields(args)...).CombinedOutput()
		require.NoError(t, err, "ip %s: %s", args, out)
	}
	for _, ns := range []string{src, dst} {
		ipc("netns add " + ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		ipc("netns exec " + ns + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
		ipc("-n " + ns + " link set lo up")
	}
	ipc("-n " + src + " link add nct0 type veth peer name nct1 netns " + dst)
	ipc("-n " + src + " addr add 169.254.77.1/24 dev nct0")
	ipc("-n " + dst + " addr add 169.254.77.2/24 dev nct1")
	ipc("-n " + src + " link set nct0 up")
	ipc("-n " + dst + " link set nct1 up")
	server := exec.Command("ip", "netns", "exec", dst, bin, "serve", "--http", "127.0.0.1:8080", "--tcp", "127.0.0.1:8081", "--udp", "169.254.77.2:8472")
	require.NoError(t, server.Start())
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })
	time.Sleep(300 * time.Millisecond) // the server binds
	return src, dst
}
