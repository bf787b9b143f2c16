package doctor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
)

// overlayNode is a fake node whose netfilter views are a scenario captured under
// testdata/netfilter. While it blocks, the counters of its hot rules count every probe that
// involves it; an iptables or nft insert switches it to the scenario's "-repaired" capture.
type overlayNode struct {
	*node.Fake
	scenario string
	hot      []string // substrings of the rule lines whose counters rise
	packets  int
	inserts  int
}

func newOverlayNode(t *testing.T, name, scenario string, hot ...string) *overlayNode {
	o := &overlayNode{Fake: node.NewFake(name), scenario: scenario, hot: hot}
	for cmd, view := range map[string]string{"iptables-legacy-save -c": "legacy.save", "iptables-nft-save -c": "nft.save", "nft -a list ruleset": "ruleset.nft"} {
		o.Handle(cmd, func([]string) (string, int) { return o.render(t, view), 0 })
	}
	insert := func([]string) (string, int) {
		o.inserts++
		o.scenario = strings.TrimSuffix(o.scenario, "-repaired") + "-repaired"
		return "", 0
	}
	for _, prefix := range []string{"iptables-nft -w", "iptables-legacy -w", "nft insert rule"} {
		o.Handle(prefix, insert)
	}
	return o
}

// blocking reports whether the node drops the overlay: it has hot rules and is not repaired.
func (o *overlayNode) blocking() bool {
	return len(o.hot) > 0 && !strings.HasSuffix(o.scenario, "-repaired")
}

var (
	xtCounter  = regexp.MustCompile(`^\[\d+:\d+\]|^(:\S+ DROP )\[\d+:\d+\]`)
	nftCounter = regexp.MustCompile(`counter packets \d+ bytes \d+`)
)

func (o *overlayNode) render(t *testing.T, view string) string {
	lines := strings.Split(netfilterFile(t, o.scenario, view), "\n")
	for i, line := range lines {
		for _, h := range o.hot {
			if strings.Contains(line, h) {
				line = xtCounter.ReplaceAllString(line, fmt.Sprintf("${1}[%d:%d]", o.packets, 78*o.packets))
				lines[i] = nftCounter.ReplaceAllString(line, fmt.Sprintf("counter packets %d bytes %d", o.packets, 78*o.packets))
			}
		}
	}
	return strings.Join(lines, "\n")
}

// overlayProber fails each probe that involves a blocking node, counting it on that node. It
// sends no traffic.
type overlayProber struct {
	mu     sync.Mutex
	nodes  map[string]*overlayNode
	broken map[string]bool // more pairs that fail, "from→to"
	err    error
	calls  int
}

func (p *overlayProber) PodPairs(ctx context.Context, pairs []NodePair) ([]PairResult, error) {
	return pairByPair(ctx, pairs, p.podToPod)
}

func (p *overlayProber) podToPod(_ context.Context, from, to string) (bool, Evidence, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	ok := !p.broken[from+"→"+to]
	for _, name := range []string{from, to} {
		if n := p.nodes[name]; n != nil && n.blocking() {
			n.packets++
			ok = false
		}
	}
	ev := Evidence{Source: fmt.Sprintf("probe pod on %s → probe pod on %s (UDP)", from, to), Output: "reply received"}
	if !ok {
		ev.Output = "no reply"
	}
	return ok, ev, p.err
}

func (p *overlayProber) DNS(context.Context, string, string) (bool, Evidence, error) {
	return false, Evidence{}, errors.New("no DNS here")
}

// overlayCluster is kind-control-plane (172.18.0.2), kind-worker (172.18.0.3) and kind-worker2
// (172.18.0.4), as in capture.sh; kind-worker runs scenario with hot rules, the others are healthy.
func overlayCluster(t *testing.T, cni, scenario string, hot ...string) (*Cluster, *overlayNode, *overlayProber) {
	idle := dropIdleWindow
	dropIdleWindow = 0 // the fake's counters move only when probed
	t.Cleanup(func() { dropIdleWindow = idle })
	healthy := "flannel-healthy"
	if cni == "calico" {
		healthy = "calico-healthy"
	}
	cp, w2 := newOverlayNode(t, "kind-control-plane", healthy), newOverlayNode(t, "kind-worker2", healthy)
	w := newOverlayNode(t, "kind-worker", scenario, hot...)
	prober := &overlayProber{nodes: map[string]*overlayNode{"kind-control-plane": cp, "kind-worker": w, "kind-worker2": w2}, broken: map[string]bool{}}
	cs := fake.NewClientset(apiNode("kind-control-plane", "172.18.0.2"), apiNode("kind-worker", "172.18.0.3"), apiNode("kind-worker2", "172.18.0.4"),
		flannelVXLANConfigMap("10.244.0.0/16"))
	dyn := kubetest.CalicoDynamic(kubetest.CalicoPool("default-ipv4-ippool", "192.168.0.0/16", "Always", false))
	return &Cluster{Nodes: []node.Node{cp, w, w2}, Client: cs, Dynamic: dyn, CNI: cni, Probe: prober}, w, prober
}

func apiNode(name, ip string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}}}
}

func statuses(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		out = append(out, string(f.Status)+" "+f.Node)
	}
	return out
}

func TestOverlayPortBlockedQuietOnHealthyNodes(t *testing.T) {
	for _, cni := range []string{"flannel", "calico"} {
		c, _, _ := overlayCluster(t, cni, map[string]string{"flannel": "flannel-healthy", "calico": "calico-healthy"}[cni])
		findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
		require.NoError(t, err)
		assert.Equal(t, []string{"Pass kind-control-plane", "Pass kind-worker", "Pass kind-worker2"}, statuses(findings), cni)
		plan, err := OverlayPortBlocked{}.Plan(t.Context(), c, findings)
		require.NoError(t, err)
		assert.True(t, plan.Empty())
	}
	c, _, _ := overlayCluster(t, "calico", "calico-healthy")
	findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
	require.NoError(t, err)
	assert.Contains(t, findings[1].Summary, "no netfilter rule drops or rejects udp/4789 (read iptables-legacy, iptables-nft, nft); 1 rule(s) drop it only after an ACCEPT allow-list: iptables-nft filter cali-INPUT #")
}

// The four shapes of the fault, each fixed by netcert's repair as capture.sh ran it for real.
var overlayScenarios = []struct {
	scenario, hot, where string
	argv                 [][]string
}{
	{"raw-drop", "-A PREROUTING -p udp -m udp --dport 8472", "iptables-nft raw PREROUTING #1 `-A PREROUTING -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP` drops udp/8472", [][]string{
		{"iptables-nft", "-w", "-t", "raw", "-I", "PREROUTING", "1", "-s", "172.18.0.2/32", "-p", "udp", "-m", "udp", "--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"},
		{"iptables-nft", "-w", "-t", "raw", "-I", "PREROUTING", "1", "-s", "172.18.0.4/32", "-p", "udp", "-m", "udp", "--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"},
	}},
	{"nft-drop", `drop comment "netcert-fault"`, "nft inet netcert_fault input handle 2 `udp dport 8472 counter packets 0 bytes 0 drop comment \"netcert-fault\"` drops udp/8472", [][]string{
		{"nft", "insert", "rule", "inet", "netcert_fault", "input", "handle", "2", "ip", "saddr", "{ 172.18.0.2, 172.18.0.4 }", "udp", "dport", "8472", "accept", "comment", `"netcert-repair overlay-port-blocked"`},
	}},
	{"output-reject", "--dports 8000:9000", "iptables-nft filter OUTPUT #2 `-A OUTPUT -p udp -m multiport --dports 8000:9000 -j REJECT --reject-with icmp-port-unreachable` rejects udp/8472", [][]string{
		{"iptables-nft", "-w", "-t", "filter", "-I", "OUTPUT", "2", "-d", "172.18.0.2/32", "-p", "udp", "-m", "udp", "--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"},
		{"iptables-nft", "-w", "-t", "filter", "-I", "OUTPUT", "2", "-d", "172.18.0.4/32", "-p", "udp", "-m", "udp", "--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"},
	}},
	{"legacy-reject", "--dport 8472 -j REJECT", "iptables-legacy filter INPUT #1 `-A INPUT -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable` rejects udp/8472", [][]string{
		{"iptables-legacy", "-w", "-t", "filter", "-I", "INPUT", "1", "-s", "172.18.0.2/32", "-p", "udp", "-m", "udp", "--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"},
		{"iptables-legacy", "-w", "-t", "filter", "-I", "INPUT", "1", "-s", "172.18.0.4/32", "-p", "udp", "-m", "udp", "--dport", "8472", "-m", "comment", "--comment", "netcert-repair overlay-port-blocked", "-j", "ACCEPT"},
	}},
}

func TestOverlayPortBlockedFiresAndRepairs(t *testing.T) {
	for _, sc := range overlayScenarios {
		t.Run(sc.scenario, func(t *testing.T) {
			ctx := t.Context()
			c, w, prober := overlayCluster(t, "flannel", sc.scenario, sc.hot)
			findings, err := OverlayPortBlocked{}.Run(ctx, c)
			require.NoError(t, err)
			require.Equal(t, []string{"Fail kind-worker"}, statuses(findings))
			f := findings[0]
			assert.Equal(t, "udp/8472", f.Object)
			assert.Equal(t, sc.where+" (counted 4 packets while the probes ran): pod traffic kind-control-plane→kind-worker, kind-worker2→kind-worker, kind-worker→kind-control-plane, kind-worker→kind-worker2 fails", f.Summary)
			var counters []string
			for _, ev := range f.Evidence {
				if strings.HasSuffix(ev.Output, "\npackets +4 while kind-worker's pairs were probed") { // it names the port: no idle window
					counters = append(counters, ev.Source)
				}
			}
			assert.Len(t, counters, 1, "the rule's text and counters are evidence: %v", f.Evidence)

			plan, err := OverlayPortBlocked{}.Plan(ctx, c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1)
			a := plan.Actions[0]
			assert.Equal(t, "kind-worker", a.Node)
			assert.Equal(t, sc.argv, a.Argv)
			way := map[bool]string{true: "to", false: "from"}[sc.scenario == "output-reject"] // OUTPUT: the peers are destinations
			assert.Contains(t, a.Summary, "for udp/8472 "+way+" the other nodes (kind-control-plane 172.18.0.2, kind-worker2 172.18.0.4)")
			assert.Contains(t, a.Summary, "that foreign rule is left in place")

			rec, err := OverlayPortBlocked{}.Apply(ctx, c, plan)
			require.NoError(t, err)
			require.Len(t, rec.Steps, 1)
			assert.True(t, rec.Steps[0].Changed)
			assert.Equal(t, len(sc.argv), w.inserts)
			assert.Equal(t, strings.Join(sc.argv[0], " "), rec.Steps[0].Evidence[0].Source[len("kind-worker$ "):])

			calls := prober.calls
			rec, err = OverlayPortBlocked{}.Apply(ctx, c, plan)
			require.NoError(t, err)
			assert.False(t, rec.Steps[0].Changed, "the ACCEPTs are in place")
			assert.Equal(t, len(sc.argv), w.inserts, "nothing added twice")
			assert.Equal(t, calls+4, prober.calls, "kind-worker's pairs probed again")

			findings, err = OverlayPortBlocked{}.Run(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, []string{"Pass kind-control-plane", "Pass kind-worker", "Pass kind-worker2"}, statuses(findings))
			assert.Contains(t, findings[1].Summary, "drop it only after an ACCEPT allow-list", "the foreign rule is still there")
		})
	}
}

func TestOverlayPortBlockedWarnsOnARuleThatDropsNothingNow(t *testing.T) {
	c, _, _ := overlayCluster(t, "flannel", "blocked") // no hot rule: traffic passes
	findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, []string{"Pass kind-control-plane", "Warn kind-worker", "Pass kind-worker2"}, statuses(findings))
	assert.Contains(t, findings[1].Summary, "iptables-legacy filter INPUT #1 `-A INPUT -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable` rejects udp/8472")
	assert.Contains(t, findings[1].Summary, "nft ip fw pre handle 6 `udp dport 8000-9000 drop` drops udp/8472 (no counter: not confirmed)")
	assert.Contains(t, findings[1].Summary, "but no pod traffic to or from kind-worker was seen failing through it")
	assert.Len(t, findings[1].Evidence, 12, "the port and the 11 rules: the two in FORWARD chains never see the node's own overlay packets")
}

func TestOverlayPortBlockedNamesOnlyConfirmedRules(t *testing.T) {
	c, _, _ := overlayCluster(t, "flannel", "blocked", "-A PREROUTING -p udp -m udp --dport 8472")
	findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, []string{"Fail kind-worker"}, statuses(findings))
	assert.True(t, strings.HasPrefix(findings[0].Summary, "iptables-nft raw PREROUTING #1 `-A PREROUTING -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP` drops udp/8472 (counted 4 packets while the probes ran): pod traffic"), findings[0].Summary)
	assert.Contains(t, findings[0].Summary, "(10 more rule(s) there drop udp/8472 but were not seen dropping)")
	plan, err := OverlayPortBlocked{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, "iptables-nft raw PREROUTING: -A PREROUTING -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP", plan.Actions[0].Object)
}

func TestOverlayPortBlockedSuspectsAnUncountedRule(t *testing.T) {
	c, _, prober := overlayCluster(t, "flannel", "blocked")
	for _, peer := range []string{"kind-control-plane", "kind-worker2"} {
		prober.broken[peer+"→kind-worker"], prober.broken["kind-worker→"+peer] = true, true
	}
	findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, []string{"Fail kind-worker"}, statuses(findings), "no counter rose: the rule without one is the suspect")
	assert.True(t, strings.HasPrefix(findings[0].Summary, "nft ip fw pre handle 6 `udp dport 8000-9000 drop` drops udp/8472 (no counter: not confirmed): pod traffic"), findings[0].Summary)
	plan, err := OverlayPortBlocked{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, [][]string{{"nft", "insert", "rule", "ip", "fw", "pre", "handle", "6", "ip", "saddr", "{ 172.18.0.2, 172.18.0.4 }",
		"udp", "dport", "8472", "accept", "comment", `"netcert-repair overlay-port-blocked"`}}, plan.Actions[0].Argv)

	// The pairs keep failing in this fake: Apply says so.
	_, err = OverlayPortBlocked{}.Apply(t.Context(), c, plan)
	assert.ErrorContains(t, err, "overlay-port-blocked on kind-worker: pod traffic kind-control-plane→kind-worker, kind-worker2→kind-worker, kind-worker→kind-control-plane, kind-worker→kind-worker2 still fails after the repair")
}

func TestOverlayPortBlockedFailureNoRuleExplains(t *testing.T) {
	c, _, prober := overlayCluster(t, "flannel", "flannel-healthy")
	prober.broken["kind-control-plane→kind-worker2"] = true
	findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, []string{"Warn "}, statuses(findings))
	assert.Equal(t, "pod traffic kind-control-plane→kind-worker2 fails, but no netfilter rule on those nodes was seen dropping udp/8472: the overlay is broken for another reason", findings[0].Summary)
	assert.Equal(t, "no reply", findings[0].Evidence[1].Output)

	plan, err := OverlayPortBlocked{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "another check owns a failure no rule explains")
	assert.Empty(t, plan.Manual)
}

func TestOverlayPortBlockedApplyRefusesAChangedCluster(t *testing.T) {
	ctx := t.Context()
	c, w, _ := overlayCluster(t, "flannel", "raw-drop", "-A PREROUTING -p udp -m udp --dport 8472")
	findings, err := OverlayPortBlocked{}.Run(ctx, c)
	require.NoError(t, err)
	plan, err := OverlayPortBlocked{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	_, err = c.Client.CoreV1().Nodes().Create(ctx, apiNode("kind-worker3", "172.18.0.5"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = OverlayPortBlocked{}.Apply(ctx, c, plan)
	assert.ErrorContains(t, err, "raw PREROUTING or the nodes changed since the plan")
	assert.Zero(t, w.inserts)
}

type downNode struct{}

func (downNode) Name() string { return "kind-worker" }
func (downNode) Exec(context.Context, ...string) ([]byte, []byte, error) {
	return nil, nil, errors.New("Error response from daemon: container is not running")
}

func TestOverlayPortBlockedCannotEvaluate(t *testing.T) {
	ctx := t.Context()
	c, _, prober := overlayCluster(t, "flannel", "flannel-healthy")
	c.Probe = nil
	_, err := OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, "overlay-port-blocked: needs live probes")
	_, err = OverlayPortBlocked{}.Apply(ctx, c, Plan{Check: "overlay-port-blocked", Actions: []Action{{Node: "kind-worker"}}})
	assert.ErrorContains(t, err, "needs live probes")

	c.Probe = prober
	prober.err = errors.New("probe pod not ready")
	_, err = OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, "probe pod traffic between nodes: probe pod not ready")
	prober.err = nil

	c.CNI = "cilium"
	_, err = OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, `no overlay known for CNI "cilium": netcert knows flannel and calico`)
	c.CNI = "flannel"

	c.Nodes[1] = node.NewFake("kind-worker") // every command "not found"
	_, err = OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, "kind-worker: no netfilter view can be read (iptables-legacy-save, iptables-nft-save, nft)")

	c.Nodes[1] = downNode{}
	_, err = OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, "kind-worker$ iptables-legacy-save -c: Error response from daemon")

	c.Nodes[1] = node.NewFake("kind-worker").Reply("iptables-legacy-save -c", "").Reply("nft", "").
		Handle("iptables-nft-save -c", func([]string) (string, int) { return "", 4 })
	_, err = OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, "iptables-nft-save -c: exit status 4")

	c.Nodes[1] = node.NewFake("kind-worker").Reply("iptables-legacy-save -c", "garbage\n").Reply("iptables-nft-save -c", "").Reply("nft", "")
	_, err = OverlayPortBlocked{}.Run(ctx, c)
	assert.ErrorContains(t, err, `iptables-legacy line 1: "garbage" outside a table`)
}

func TestSameGuardIgnoresOnlyTheInsertPosition(t *testing.T) {
	at := func(pos, peer string) []string {
		return []string{"iptables-nft", "-w", "-t", "raw", "-I", "PREROUTING", pos, "-s", peer + "/32", "-p", "udp", "-m", "udp",
			"--dport", "4789", "-m", "comment", "--comment", overlayRepairComment, "-j", "ACCEPT"}
	}
	assert.True(t, sameGuard(at("1", "172.18.0.2"), at("2", "172.18.0.2")), "Felix moved its jump above the rule")
	assert.False(t, sameGuard(at("1", "172.18.0.2"), at("1", "172.18.0.4")), "another peer")
	nft := []string{"nft", "insert", "rule", "inet", "t", "input", "handle", "3", "accept"}
	assert.True(t, sameGuard(nft, slices.Clone(nft)))
	assert.False(t, sameGuard(nft, append(slices.Clone(nft[:7]), "4", "accept")), "another handle is another rule")
}
