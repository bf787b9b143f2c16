package doctor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor/internal/captures"
	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
)

// forwardFakeNode is a fake node whose three netfilter views are text; the repair's inserts (iptables
// -I, nft insert rule) add their rule to that text, so the check reads them back.
type forwardFakeNode struct {
	*node.Fake
	mu      sync.Mutex
	views   map[string]string // "legacy", "nft", "ruleset"
	handles int
}

func newForwardNode(name string, legacy, xtNft, ruleset string) *forwardFakeNode {
	n := &forwardFakeNode{Fake: node.NewFake(name), views: map[string]string{"legacy": legacy, "nft": xtNft, "ruleset": ruleset}, handles: 900}
	for cmd, view := range map[string]string{"iptables-legacy-save -c": "legacy", "iptables-nft-save -c": "nft", "nft -a list ruleset": "ruleset"} {
		n.Handle(cmd, func([]string) (string, int) {
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.views[view], 0
		})
	}
	for bin, view := range map[string]string{"iptables-legacy -w": "legacy", "iptables-nft -w": "nft"} {
		n.Handle(bin, func(argv []string) (string, int) { return "", n.xtInsert(view, argv) })
	}
	n.Handle("nft insert rule", func(argv []string) (string, int) { return "", n.nftInsert(argv) })
	return n
}

// xtInsert adds `BIN -w -t TABLE -I CHAIN POS RULE…` as the first rule of TABLE.
func (n *forwardFakeNode) xtInsert(view string, argv []string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	table, chain := argv[3], argv[5]
	var spec []string
	for _, w := range argv[7:] {
		if strings.Contains(w, " ") {
			w = fmt.Sprintf("%q", w)
		}
		spec = append(spec, w)
	}
	lines := strings.Split(n.views[view], "\n")
	in := false
	for i, line := range lines {
		if in && !strings.HasPrefix(line, ":") {
			lines = slices.Insert(lines, i, "[0:0] -A "+chain+" "+strings.Join(spec, " "))
			n.views[view] = strings.Join(lines, "\n")
			return 0
		}
		in = in || line == "*"+table
	}
	return 1
}

// nftInsert adds `nft insert rule FAMILY TABLE CHAIN RULE…` as the first rule of the chain.
func (n *forwardFakeNode) nftInsert(argv []string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	lines := strings.Split(n.views["ruleset"], "\n")
	table := false
	for i, line := range lines {
		table = table || strings.HasPrefix(line, "table "+argv[3]+" "+argv[4]+" {")
		if table && strings.HasPrefix(strings.TrimSpace(line), "chain "+argv[5]+" {") {
			n.handles++
			rule := fmt.Sprintf("\t\t%s # handle %d", strings.Join(argv[6:], " "), n.handles)
			lines = slices.Insert(lines, i+2, rule) // after its type line
			n.views["ruleset"] = strings.Join(lines, "\n")
			return 0
		}
	}
	return 1
}

// forwardCluster is kind-control-plane, kind-worker and kind-worker2 (podCIDRs 10.244.0-2.0/24 on
// Flannel, whose Network is 10.244.0.0/16; Calico's IPPool is 10.248.0.0/16): kind-worker shows
// the given views, the others the healthy captures of the CNI.
func forwardCluster(t *testing.T, cni string, worker node.Node) *Cluster {
	healthy := func(name string) *forwardFakeNode {
		if cni == "calico" {
			return newForwardNode(name, "", netfilterFile(t, "calico-healthy", "nft.save"), netfilterFile(t, "calico-healthy", "ruleset.nft"))
		}
		return newForwardNode(name, "", netfilterFile(t, "flannel-healthy", "nft.save"), netfilterFile(t, "flannel-healthy", "ruleset.nft"))
	}
	var objs []runtime.Object
	for i, name := range []string{"kind-control-plane", "kind-worker", "kind-worker2"} {
		n := apiNode(name, fmt.Sprintf("172.18.0.%d", i+2))
		cidr := map[string]string{"flannel": "10.244.%d.0/24", "calico": "10.248.%d.0/24"}[cni]
		n.Spec.PodCIDRs = []string{fmt.Sprintf(cidr, i)}
		objs = append(objs, n)
	}
	objs = append(objs, flannelVXLANConfigMap("10.244.0.0/16"))
	return &Cluster{Nodes: []node.Node{healthy("kind-control-plane"), worker, healthy("kind-worker2")}, Client: fake.NewClientset(objs...),
		Dynamic: kubetest.CalicoDynamic(kubetest.CalicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false)), CNI: cni}
}

// A legacy filter table whose FORWARD policy drops, as `iptables-legacy -P FORWARD DROP` leaves it.
const legacyForwardDrop = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [12:720]
:OUTPUT ACCEPT [0:0]
COMMIT
`

// withTable returns a ruleset listing with one more table.
func withTable(ruleset, table string) string { return strings.TrimRight(ruleset, "\n") + "\n" + table }

// felixForward is iptables-nft's filter table of a Calico node in Felix's shape (iptables data
// plane), with a FORWARD policy of DROP: Felix accepts what its policy chains marked.
const felixForward = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:cali-FORWARD - [0:0]
:cali-from-wl-dispatch - [0:0]
:cali-to-wl-dispatch - [0:0]
:cali-fw-cali1234 - [0:0]
:cali-tw-cali1234 - [0:0]
:KUBE-FORWARD - [0:0]
[0:0] -A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
[0:0] -A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m comment --comment "Policy explicitly accepted packet." -m mark --mark 0x10000/0x10000 -j ACCEPT
[0:0] -A FORWARD -m comment --comment "cali:mp77cMpurHhyjLrM" -j MARK --set-xmark 0x10000/0x10000
[0:0] -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
[0:0] -A cali-FORWARD -m comment --comment "cali:vjrMJCRpqwy5oRoX" -j MARK --set-xmark 0x0/0xe0000
[0:0] -A cali-FORWARD -i cali+ -m comment --comment "cali:8ZoYfO5HKXWbB3pk" -j cali-from-wl-dispatch
[0:0] -A cali-FORWARD -o cali+ -m comment --comment "cali:jdEuaPBe14V2hutn" -j cali-to-wl-dispatch
[0:0] -A cali-from-wl-dispatch -i cali1234 -m comment --comment "cali:x" -g cali-fw-cali1234
[0:0] -A cali-from-wl-dispatch -m comment --comment "cali:y" -m comment --comment "Unknown interface" -j DROP
[0:0] -A cali-to-wl-dispatch -o cali1234 -m comment --comment "cali:z" -g cali-tw-cali1234
[0:0] -A cali-to-wl-dispatch -m comment --comment "cali:w" -m comment --comment "Unknown interface" -j DROP
[0:0] -A cali-fw-cali1234 -m comment --comment "cali:a" -j MARK --set-xmark 0x10000/0x10000
[0:0] -A cali-fw-cali1234 -m comment --comment "cali:b" -m mark --mark 0x10000/0x10000 -j RETURN
[0:0] -A cali-fw-cali1234 -m comment --comment "cali:c" -m comment --comment "Drop if no profiles matched" -j DROP
[0:0] -A cali-tw-cali1234 -m comment --comment "cali:d" -j MARK --set-xmark 0x10000/0x10000
[0:0] -A cali-tw-cali1234 -m comment --comment "cali:e" -m mark --mark 0x10000/0x10000 -j RETURN
[0:0] -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
[0:0] -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
COMMIT
`

// xtFilter is an iptables-save filter table of FORWARD's policy and these chains and rules.
func xtFilter(policy string, chains []string, rules ...string) string {
	s := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD " + policy + " [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	for _, c := range chains {
		s += ":" + c + " - [0:0]\n"
	}
	for _, r := range rules {
		s += "[0:0] " + r + "\n"
	}
	return s + "COMMIT\n"
}

// nftForward is a native table inet hostfw whose forward chain has this policy and these rules.
func nftForward(policy string, rules ...string) string {
	s := "table inet hostfw { # handle 40\n\tchain forward { # handle 1\n\t\ttype filter hook forward priority filter; policy " + policy + ";\n"
	for i, r := range rules {
		s += fmt.Sprintf("\t\t%s # handle %d\n", r, i+2)
	}
	return s + "\t}\n}\n"
}

// legacyAccepts are the repair's inserts into iptables-legacy's filter FORWARD on Flannel.
var legacyAccepts = [][]string{
	{"iptables-legacy", "-w", "-t", "filter", "-I", "FORWARD", "1", "-s", "10.244.0.0/16", "-m", "comment", "--comment", "netcert: pod network", "-j", "ACCEPT"},
	{"iptables-legacy", "-w", "-t", "filter", "-I", "FORWARD", "2", "-d", "10.244.0.0/16", "-m", "comment", "--comment", "netcert: pod network", "-j", "ACCEPT"},
}

// nftAccepts are the repair's inserts into the forward chain of table inet name: the
// destination's first, so that the source's ends up on top.
func nftAccepts(table, cidr string) [][]string {
	var out [][]string
	for _, field := range []string{"daddr", "saddr"} {
		out = append(out, []string{"nft", "insert", "rule", "inet", table, "forward", "ip", field, cidr, "accept", "comment", `"netcert: pod network"`})
	}
	return out
}

var forwardFires = []struct {
	name, cni              string
	legacy, xtNft, ruleset string
	summary                string // the Fail's summary starts with it
	argv                   [][]string
}{
	{name: "legacy policy drop beside Flannel's iptables-nft accepts", cni: "flannel", legacy: legacyForwardDrop,
		summary: "iptables-legacy filter FORWARD policy `policy DROP` drops the pods' routed traffic: no rule before it accepts 10.244.0.0/16 or the pod interfaces (cni0, flannel.1); every base chain on the hook applies",
		argv:    legacyAccepts},
	{name: "native inet table forward policy drop", cni: "flannel",
		ruleset: `table inet netcert-fault-forward { # handle 30
	chain forward { # handle 1
		type filter hook forward priority filter; policy drop;
	}
}
`,
		summary: "nft inet netcert-fault-forward forward policy `policy DROP` drops the pods' routed traffic",
		argv:    nftAccepts("netcert-fault-forward", "10.244.0.0/16")},
	{name: "a final reject in a native forward chain", cni: "calico",
		ruleset: nftForward("accept", "ct state established,related accept", "tcp dport 22 accept", "counter packets 7 bytes 420 reject with icmpx admin-prohibited"),
		summary: "nft inet hostfw forward handle 4 `counter packets 7 bytes 420 reject with icmpx admin-prohibited` rejects the pods' routed traffic: no rule before it accepts 10.248.0.0/16 or the pod interfaces (cali+, vxlan.calico, tunl0)",
		argv:    nftAccepts("hostfw", "10.248.0.0/16")},
	{name: "a drop policy that accepts another range only", cni: "flannel",
		legacy:  xtFilter("DROP", nil, "-A FORWARD -s 10.99.0.0/16 -j ACCEPT", "-A FORWARD -d 10.99.0.0/16 -j ACCEPT"),
		summary: "iptables-legacy filter FORWARD policy `policy DROP` drops",
		argv:    legacyAccepts},
	{name: "the pods' accept in a chain nothing jumps to", cni: "flannel",
		legacy:  xtFilter("DROP", []string{"PODS"}, "-A PODS -s 10.244.0.0/16 -j ACCEPT", "-A PODS -i cni0 -j ACCEPT"),
		summary: "iptables-legacy filter FORWARD policy `policy DROP` drops",
		argv:    legacyAccepts},
	{name: "a drop of everything before the pods' accept", cni: "flannel",
		legacy:  xtFilter("ACCEPT", nil, "-A FORWARD -m comment --comment \"lock down\" -j DROP", "-A FORWARD -s 10.244.0.0/16 -j ACCEPT"),
		summary: "iptables-legacy filter FORWARD #1 `-A FORWARD -m comment --comment \"lock down\" -j DROP` drops",
		argv:    legacyAccepts},
	{name: "a reject at the end of a chain every packet jumps to", cni: "flannel",
		legacy: xtFilter("ACCEPT", []string{"HOST-FW"}, "-A FORWARD -j HOST-FW", "-A HOST-FW -p tcp -m tcp --dport 22 -j ACCEPT",
			"-A HOST-FW -j REJECT --reject-with icmp-host-prohibited"),
		summary: "iptables-legacy filter HOST-FW #2 `-A HOST-FW -j REJECT --reject-with icmp-host-prohibited` (reached from filter FORWARD) rejects",
		argv:    legacyAccepts},
}

// forwardWorker returns kind-worker with the views given, the CNI's healthy captures for the others.
func forwardWorker(t *testing.T, cni, legacy, xtNft, ruleset string) *forwardFakeNode {
	healthy := map[string]string{"flannel": "flannel-healthy", "calico": "calico-healthy"}[cni]
	if xtNft == "" {
		xtNft = netfilterFile(t, healthy, "nft.save")
	}
	return newForwardNode("kind-worker", legacy, xtNft, withTable(netfilterFile(t, healthy, "ruleset.nft"), ruleset))
}

func TestForwardPolicyDropFiresPlansAndRepairs(t *testing.T) {
	for _, tc := range forwardFires {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			w := forwardWorker(t, tc.cni, tc.legacy, tc.xtNft, tc.ruleset)
			c := forwardCluster(t, tc.cni, w)
			p := ForwardPolicyDrop{}
			findings, err := p.Run(ctx, c)
			require.NoError(t, err)
			require.Equal(t, []string{"Pass kind-control-plane", "Fail kind-worker", "Pass kind-worker2"}, statuses(findings), "%v", findings)
			f := findings[1]
			assert.True(t, strings.HasPrefix(f.Summary, tc.summary), "%s", f.Summary)
			assert.Empty(t, f.Path, "a node-level cause")
			assert.Empty(t, f.Crosses)
			assert.Contains(t, fmt.Sprint(f.Evidence), "(hook forward, policy ", "the chain as read is evidence")

			plan, err := p.Plan(ctx, c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1)
			assert.Empty(t, plan.Manual)
			a := plan.Actions[0]
			assert.Equal(t, "kind-worker", a.Node)
			assert.Equal(t, tc.argv, a.Argv)
			assert.Contains(t, a.Summary, "Not persisted: the firewall or script that set the policy must accept the pod network in its own configuration")

			rec, err := p.Apply(ctx, c, plan)
			require.NoError(t, err)
			require.Len(t, rec.Steps, 1)
			assert.True(t, rec.Steps[0].Changed)
			findings, err = p.Run(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, []string{"Pass kind-control-plane", "Pass kind-worker", "Pass kind-worker2"}, statuses(findings), "%v", findings)
			assert.Contains(t, findings[1].Summary, "after accepting the pods' traffic")

			calls := len(w.Calls())
			rec, err = p.Apply(ctx, c, plan)
			require.NoError(t, err, "a second apply")
			assert.False(t, rec.Steps[0].Changed, "changes nothing")
			for _, call := range w.Calls()[calls:] {
				assert.NotContains(t, call, " -I ")
				assert.NotContains(t, call, "insert")
			}
			plan, err = p.Plan(ctx, c, findings)
			require.NoError(t, err)
			assert.True(t, plan.Empty())
		})
	}
}

func TestForwardPolicyDropQuiet(t *testing.T) {
	for _, tc := range []struct {
		name, cni              string
		legacy, xtNft, ruleset string
		whole                  bool // the views are a whole capture of one node
	}{
		{name: "healthy Flannel captures", cni: "flannel"},
		{name: "healthy Calico captures", cni: "calico"},
		{name: "a live kind worker", cni: "flannel", legacy: captures.Read(t, "live", "worker-legacy.save"),
			xtNft: captures.Read(t, "live", "worker-nft.save"), ruleset: captures.Read(t, "live", "worker-ruleset.nft"), whole: true},
		{name: "kube-proxy in nftables mode", cni: "flannel", legacy: captures.Read(t, "live", "worker-legacy.save"),
			xtNft: captures.Read(t, "kube-proxy", "iptables-nft-nftables-mode.save"), ruleset: captures.Read(t, "kube-proxy", "kind-nftables-mode.nft"), whole: true},
		{name: "iptables-nft FORWARD policy DROP with Flannel's accepts", cni: "flannel",
			xtNft: strings.Replace(netfilterFile(t, "flannel-healthy", "nft.save"), ":FORWARD ACCEPT", ":FORWARD DROP", 1)},
		{name: "Felix's FORWARD with a DROP policy", cni: "calico", xtNft: felixForward},
		{name: "a native forward policy drop that accepts the pod network", cni: "flannel",
			ruleset: nftForward("drop", "ct state established,related accept", "ip saddr 10.244.0.0/16 counter packets 0 bytes 0 accept")},
		{name: "a native forward policy drop that accepts Calico's interfaces", cni: "calico",
			ruleset: nftForward("drop", `iifname "cali*" accept`, `oifname "cali*" accept`)},
		{name: "pods scoped by the jump into an accepting chain", cni: "flannel",
			legacy: xtFilter("DROP", []string{"PODS"}, "-A FORWARD -i cni0 -j PODS", "-A PODS -j ACCEPT")},
		{name: "a final drop after the pods' accept", cni: "flannel",
			ruleset: nftForward("accept", "ip daddr 10.244.0.0/16 accept", "ip saddr 10.244.0.0/16 accept", "drop")},
		{name: "a drop policy behind an accept of everything", cni: "flannel",
			legacy: xtFilter("DROP", nil, "-A FORWARD -m comment --comment \"trust all\" -j ACCEPT")},
		{name: "a conditional drop with no accept, policy accept", cni: "flannel",
			legacy: xtFilter("ACCEPT", []string{"X"}, "-A FORWARD -p tcp -j X", "-A X -j DROP", "-A FORWARD -m conntrack --ctstate INVALID -j DROP")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w *forwardFakeNode
			if tc.whole {
				w = newForwardNode("kind-worker", tc.legacy, tc.xtNft, tc.ruleset)
			} else {
				w = forwardWorker(t, tc.cni, tc.legacy, tc.xtNft, tc.ruleset)
			}
			c := forwardCluster(t, tc.cni, w)
			findings, err := ForwardPolicyDrop{}.Run(t.Context(), c)
			require.NoError(t, err)
			assert.Equal(t, []string{"Pass kind-control-plane", "Pass kind-worker", "Pass kind-worker2"}, statuses(findings), "%v", findings)
			plan, err := ForwardPolicyDrop{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			assert.True(t, plan.Empty())
			for _, call := range w.Calls() {
				assert.Regexp(t, regexp.MustCompile(`^(iptables-legacy-save -c|iptables-nft-save -c|nft -a list ruleset)$`), call, "read-only")
			}
		})
	}
}

// Several failing chains on one node are one action; a traffic failure across that node is its
// consequence.
func TestForwardPolicyDropSeveralChainsAndCauses(t *testing.T) {
	ctx := t.Context()
	w := forwardWorker(t, "flannel", legacyForwardDrop, "", nftForward("drop"))
	c := forwardCluster(t, "flannel", w)
	findings, err := ForwardPolicyDrop{}.Run(ctx, c)
	require.NoError(t, err)
	require.Equal(t, Fail, findings[1].Status)
	assert.Contains(t, findings[1].Summary, "iptables-legacy filter FORWARD policy")
	assert.Contains(t, findings[1].Summary, "; nft inet hostfw forward policy")
	plan, err := ForwardPolicyDrop{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Len(t, plan.Actions[0].Argv, 4)
	assert.Contains(t, plan.Actions[0].Summary, "at the top of iptables-legacy filter FORWARD and nft inet hostfw forward;")
	_, err = ForwardPolicyDrop{}.Apply(ctx, c, plan)
	require.NoError(t, err)

	traffic := Finding{Check: "traffic-path-broken", Status: Fail, Path: "pod-to-pod/cross-node", Crosses: []string{"kind-control-plane", "kind-worker"}}
	explained := Explain(append([]Finding{traffic}, findings...))
	i := slices.IndexFunc(explained, func(f Finding) bool { return f.Check == traffic.Check })
	assert.Equal(t, "forward-policy-drop kind-worker", explained[i].CausedBy)
	assert.Equal(t, findings[1].Ref(), explained[0].Ref(), "the root cause comes first")
}

func TestForwardPolicyDropCannotEvaluate(t *testing.T) {
	c := forwardCluster(t, "flannel", newForwardNode("kind-worker", "", "", ""))
	c.Nodes[1] = node.NewFake("kind-worker") // no view's command is installed
	_, err := ForwardPolicyDrop{}.Run(t.Context(), c)
	assert.ErrorContains(t, err, "forward-policy-drop: kind-worker: no netfilter view can be read")
	c.Client = nil
	_, err = ForwardPolicyDrop{}.Run(t.Context(), c)
	assert.ErrorContains(t, err, "no Kubernetes client")
}

// FuzzForwardPolicyDrop: whatever the parsers read, the walk over the forward chains ends.
func FuzzForwardPolicyDrop(f *testing.F) {
	captures.Seed(f, captures.Dirs, ".save", ".nft")
	f.Add(felixForward)
	f.Add("*filter\n:FORWARD DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n-A FORWARD -j A\n-A A -j B\n-A B -j A\n-A B -g A\nCOMMIT\n")
	pt := &podTraffic{ifaces: "cni0"}
	f.Fuzz(func(t *testing.T, text string) {
		for _, parse := range []func(string) (*netfilter.Ruleset, error){
			func(s string) (*netfilter.Ruleset, error) { return netfilter.ParseIptablesSave(netfilter.Legacy, s) },
			netfilter.ParseNft,
		} {
			if rs, err := parse(text); err == nil {
				for _, fc := range forwardChains(&nodeViews{sets: []*netfilter.Ruleset{rs}}, pt) {
					_ = chainListing(fc)
				}
			}
		}
	})
}
