package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/node"
)

// netnsOverlayProber stands in for the kernel of a namespace that no packet ever enters: a probe
// to or from kind-worker fails while the fault's rule is there and no repair ACCEPT for the peer
// is (asked of iptables -C and nft, not of netcert's parsers), and it then counts one packet
// on the fault's rule (iptables -R -c, nft replace rule … counter packets N).
type netnsOverlayProber struct {
	mu      sync.Mutex
	n       netnsNode
	mode    string
	packets int
}

const netnsFaultSpec = "-p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP"

func (p *netnsOverlayProber) table() (string, string) {
	if p.mode == faults.OverlayPortBlockedRawDrop {
		return "raw", "PREROUTING"
	}
	return "filter", "INPUT"
}

func (p *netnsOverlayProber) PodPairs(ctx context.Context, pairs []NodePair) ([]PairResult, error) {
	return pairByPair(ctx, pairs, p.podToPod)
}

func (p *netnsOverlayProber) podToPod(ctx context.Context, from, to string) (bool, Evidence, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := Evidence{Source: "netns prober " + from + "→" + to, Output: "passes"}
	other := from
	switch "kind-worker" {
	case from:
		other = to
	case to:
	default:
		return true, ev, nil
	}
	ok, err := p.pass(ctx, map[string]string{"kind-control-plane": "172.18.0.2", "kind-worker2": "172.18.0.4"}[other])
	if err != nil || ok {
		return ok, ev, err
	}
	p.packets++
	ev.Output = "dropped"
	return false, ev, p.count(ctx)
}

func (p *netnsOverlayProber) pass(ctx context.Context, peer string) (bool, error) {
	if p.mode == faults.OverlayPortBlockedNftDrop {
		out, err := node.Run(ctx, p.n, "nft", "list", "ruleset")
		return !strings.Contains(out, "table inet netcert_fault") || strings.Contains(out, peer), err
	}
	table, chain := p.table()
	_, err := node.Run(ctx, p.n, append([]string{"iptables-nft", "-t", table, "-C", chain}, strings.Fields(netnsFaultSpec)...)...)
	if code, ran := node.ExitCode(err); ran && code == 1 {
		return true, nil
	}
	guard := []string{"iptables-nft", "-t", table, "-C", chain, "-s", peer + "/32", "-p", "udp", "-m", "udp", "--dport", "8472",
		"-m", "comment", "--comment", overlayRepairComment, "-j", "ACCEPT"}
	_, err = node.Run(ctx, p.n, guard...)
	return err == nil, nil
}

// count sets the fault rule's counter to the packets the prober has dropped.
func (p *netnsOverlayProber) count(ctx context.Context) error {
	pk := strconv.Itoa(p.packets)
	if p.mode == faults.OverlayPortBlockedNftDrop {
		out, err := node.Run(ctx, p.n, "nft", "-a", "list", "chain", "inet", "netcert_fault", "input")
		if err != nil {
			return err
		}
		rs, err := netfilter.ParseNft(out)
		if err != nil {
			return err
		}
		handle := 0
		for _, c := range rs.Chains {
			for _, r := range c.Rules {
				if strings.Contains(r.Text, `drop comment "netcert-fault"`) {
					handle = r.Handle
				}
			}
		}
		_, err = node.Run(ctx, p.n, "nft", "replace", "rule", "inet", "netcert_fault", "input", "handle", strconv.Itoa(handle),
			"udp", "dport", "8472", "counter", "packets", pk, "bytes", "0", "drop", "comment", `"netcert-fault"`)
		return err
	}
	table, chain := p.table()
	out, err := node.Run(ctx, p.n, "iptables-nft", "-t", table, "-S", chain)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(out, "\n") { // line 0 is the policy
		if line == "-A "+chain+" "+netnsFaultSpec {
			_, err = node.Run(ctx, p.n, append([]string{"iptables-nft", "-t", table, "-R", chain, strconv.Itoa(i), "-c", pk, "0"}, strings.Fields(netnsFaultSpec)...)...)
			return err
		}
	}
	return fmt.Errorf("no fault rule in %s %s:\n%s", table, chain, out)
}

func (p *netnsOverlayProber) DNS(context.Context, string, string) (bool, Evidence, error) {
	return false, Evidence{}, fmt.Errorf("no DNS here")
}

// TestOverlayPortBlockedOnARealKernel injects each mode of the fault into a network namespace,
// then runs the check, the repair (twice) and the revert (twice): the argv they build run on the
// real iptables-nft, iptables-legacy and nft.
func TestOverlayPortBlockedOnARealKernel(t *testing.T) {
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace; skipped with -short")
	}
	for _, tool := range []string{"ip", "iptables-nft", "iptables-legacy-save", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("no " + tool)
		}
	}
	for _, mode := range []string{faults.OverlayPortBlockedInputDrop, faults.OverlayPortBlockedRawDrop, faults.OverlayPortBlockedNftDrop} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			ns := fmt.Sprintf("netcert-test-op%d", os.Getpid())
			require.NoError(t, exec.Command("ip", "netns", "add", ns).Run())
			t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
			w := netnsNode{name: "kind-worker", ns: ns}
			for _, k := range []string{"all", "default"} {
				_, err := node.Run(ctx, w, "sysctl", "-qw", "net.ipv6.conf."+k+".disable_ipv6=1")
				require.NoError(t, err)
			}
			cp, w2 := newOverlayNode(t, "kind-control-plane", "flannel-healthy"), newOverlayNode(t, "kind-worker2", "flannel-healthy")
			cs := fake.NewClientset(apiNode("kind-control-plane", "172.18.0.2"), apiNode("kind-worker", "172.18.0.3"), apiNode("kind-worker2", "172.18.0.4"),
				flannelVXLANConfigMap("10.244.0.0/16"))
			c := &Cluster{Nodes: []node.Node{cp, w, w2}, Client: cs, CNI: "flannel", Probe: &netnsOverlayProber{n: w, mode: mode}}

			fault := faults.OverlayPortBlocked{Node: "kind-worker", Mode: mode}
			revert, err := fault.Inject(ctx, &faults.Cluster{Nodes: c.Nodes, Client: cs, CNI: "flannel"})
			require.NoError(t, err)
			t.Cleanup(func() { _ = revert(ctx) })

			findings, err := OverlayPortBlocked{}.Run(ctx, c)
			require.NoError(t, err)
			require.Equal(t, []string{"Fail kind-worker"}, statuses(findings), "%v", findings)
			assert.Contains(t, findings[0].Summary, "(counted 4 packets while the probes ran)", "the rule names the port: no idle window needed")

			plan, err := OverlayPortBlocked{}.Plan(ctx, c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1)
			rec, err := OverlayPortBlocked{}.Apply(ctx, c, plan)
			require.NoError(t, err)
			assert.True(t, rec.Steps[0].Changed)
			rec, err = OverlayPortBlocked{}.Apply(ctx, c, plan)
			require.NoError(t, err)
			assert.False(t, rec.Steps[0].Changed, "idempotent")

			findings, err = OverlayPortBlocked{}.Run(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, []string{"Pass kind-control-plane", "Pass kind-worker", "Pass kind-worker2"}, statuses(findings), "%v", findings)

			require.NoError(t, revert(ctx), "revert after the repair")
			require.NoError(t, revert(ctx), "revert again")
			v, err := readNodeViews(ctx, w)
			require.NoError(t, err)
			assert.Empty(t, portRules(blockingRules(v, 8472)), "the fault is gone")
			guards, want := 0, 2 // one per peer, left in place
			if mode == faults.OverlayPortBlockedNftDrop {
				want = 0 // deleted with the fault's table
			}
			for _, rs := range v.sets {
				for _, ch := range rs.Chains {
					for _, r := range ch.Rules {
						if isOverlayGuard(r, 8472) {
							guards++
						}
					}
				}
			}
			assert.Equal(t, want, guards, "the repair's ACCEPTs")
		})
	}
}
