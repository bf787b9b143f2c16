package doctor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/netfilter"
)

// The files under testdata/netfilter are real iptables 1.8.9 / nftables 1.0.6 output, captured by
// capture.sh in network namespaces loaded with a kind node's rules. A scenario's view that equals
// flannel-healthy's is not kept twice: netfilterFile falls back to flannel-healthy's.
func netfilterFile(t *testing.T, scenario, view string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "netfilter", scenario+"-"+view))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join("testdata", "netfilter", "flannel-healthy-"+view))
	}
	require.NoError(t, err)
	return string(b)
}

// ruleTexts returns where and what each rule is: "raw PREROUTING: -A PREROUTING …".
func ruleTexts(rules []*overlayRule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, string(r.Backend)+" "+r.Where()+": "+r.Text)
	}
	return out
}

func parsedViews(t *testing.T, scenario string) *nodeViews {
	t.Helper()
	n := newOverlayNode(t, "w", scenario)
	v, err := readNodeViews(t.Context(), n)
	require.NoError(t, err)
	return v
}

func TestBlockingRulesOfTheCapturedScenarios(t *testing.T) {
	assert.Empty(t, portRules(blockingRules(parsedViews(t, "flannel-healthy"), 8472)), "decoys only")

	all := ruleTexts(portRules(blockingRules(parsedViews(t, "blocked"), 8472)))
	assert.Equal(t, []string{
		"iptables-legacy filter INPUT: -A INPUT -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable",
		"iptables-nft raw PREROUTING: -A PREROUTING -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP",
		"iptables-nft filter INPUT: -A INPUT -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP",
		"iptables-nft filter OUTPUT: -A OUTPUT -p udp -m multiport --dports 8000:9000 -j REJECT --reject-with icmp-port-unreachable",
		"iptables-nft filter HOST-FW: -A HOST-FW -p udp -m udp --dport 8400:8500 -j REJECT --reject-with icmp-admin-prohibited",
		`nft inet netcert_fault input: udp dport 8472 counter packets 0 bytes 0 drop comment "netcert-fault"`,
		"nft ip fw custom: udp dport @overlay_ports counter packets 0 bytes 0 drop",
		"nft ip fw custom: udp dport 8472 counter packets 0 bytes 0 drop",
		"nft ip fw pre: udp dport 8000-9000 drop",
		"nft ip fw out: udp dport { 53, 8472 } counter packets 0 bytes 0 reject",
		"nft netdev edge ingress: ip saddr 10.0.0.0/8 udp dport 8472 counter packets 0 bytes 0 reject with icmp admin-prohibited",
	}, all, "iptables-nft's tables and the ip6 table are not read again from the nft ruleset; FORWARD chains never see the node's own overlay packets")

	calico := portRules(blockingRules(parsedViews(t, "calico-healthy"), 4789))
	require.Len(t, calico, 1)
	assert.True(t, calico[0].allowListed, "Felix drops VXLAN only from hosts outside its allow-list")
	assert.Equal(t, []string{"cali:4cgmbdWsLmozYhJh", "Drop IPv4 VXLAN packets from non-allowed hosts"}, calico[0].Comments)

	for _, scenario := range []string{"raw-drop", "nft-drop", "output-reject", "legacy-reject"} {
		rules := portRules(blockingRules(parsedViews(t, scenario), 8472))
		require.Len(t, rules, 1, scenario)
		assert.False(t, rules[0].allowListed, scenario)
		repaired := portRules(blockingRules(parsedViews(t, scenario+"-repaired"), 8472))
		require.Len(t, repaired, 1, scenario)
		assert.True(t, repaired[0].allowListed, scenario+": netcert's ACCEPTs come first")
		assert.Equal(t, ruleRef(rules[0].Rule), ruleRef(repaired[0].Rule), "the same rule across reads")
		assert.True(t, strings.HasPrefix(ruleRef(repaired[0].Rule), string(rules[0].Backend)))
	}
}

// Calico drops VXLAN that pods send, in per-workload chains reached only from pods' interfaces;
// such rules never see the overlay between nodes and must not be reported.
func TestBlockingRulesSkipRulesThatSeeOnlyPodTraffic(t *testing.T) {
	rs, err := netfilter.ParseIptablesSave(netfilter.XtNft, `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:cali-FORWARD - [0:0]
:cali-from-wl-dispatch - [0:0]
:cali-fw-cali7c0ddfa3026 - [0:0]
[0:0] -A INPUT -i cali+ -p udp -m udp --dport 4789 -j DROP
[0:0] -A INPUT -i eth0 -p udp -m udp --dport 4789 -j DROP
[0:0] -A FORWARD -j cali-FORWARD
[0:0] -A cali-FORWARD -i cali+ -j cali-from-wl-dispatch
[0:0] -A cali-from-wl-dispatch -i cali7c0ddfa3026 -g cali-fw-cali7c0ddfa3026
[0:0] -A cali-fw-cali7c0ddfa3026 -p udp -m comment --comment "Drop VXLAN encapped packets originating in workloads" -m multiport --dports 4789 -j DROP
COMMIT
`)
	require.NoError(t, err)
	got := ruleTexts(portRules(blockingRules(&nodeViews{sets: []*netfilter.Ruleset{rs}}, 4789)))
	assert.Equal(t, []string{"iptables-nft filter INPUT: -A INPUT -i eth0 -p udp -m udp --dport 4789 -j DROP"}, got)

	nft, err := netfilter.ParseNft(`table inet fw {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "cali*" udp dport 4789 counter packets 0 bytes 0 drop # handle 2
		iifname != "cali*" udp dport 4789 counter packets 0 bytes 0 drop # handle 3
	}
}
`)
	require.NoError(t, err)
	got = ruleTexts(portRules(blockingRules(&nodeViews{sets: []*netfilter.Ruleset{nft}}, 4789)))
	assert.Equal(t, []string{`nft inet fw input: iifname != "cali*" udp dport 4789 counter packets 0 bytes 0 drop`}, got)
}

// portRules keeps the rules that name the overlay port: the suspects even without a counter.
func portRules(rules []*overlayRule) []*overlayRule {
	var out []*overlayRule
	for _, r := range rules {
		if r.explicit {
			out = append(out, r)
		}
	}
	return out
}

// Rules of other shapes are candidates too, left to the counters; those whose protocol or port
// rules out the overlay are not.
func TestBlockingRulesKeepOtherShapesForTheCounters(t *testing.T) {
	var others []string
	for _, r := range blockingRules(parsedViews(t, "flannel-healthy"), 8472) {
		others = append(others, string(r.Backend)+" "+r.Where()+" "+rulePosition(r.Rule))
	}
	assert.Contains(t, others, "iptables-nft filter KUBE-FIREWALL #1", "a drop that names no protocol")
	assert.NotContains(t, others, "iptables-nft filter KUBE-FORWARD #1", "reached from FORWARD only: never the node's own overlay packets")
	assert.NotContains(t, others, "iptables-nft filter HOST-FW #2", "tcp/8472 is not the overlay")
	assert.NotContains(t, others, "iptables-nft filter HOST-FW #5", "every udp port but 53, 123 and 8472")
	rs, err := netfilter.ParseIptablesSave(netfilter.Legacy, "*filter\n:INPUT DROP [7:420]\n:OUTPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n[1:2] -A INPUT -i lo -j ACCEPT\nCOMMIT\n")
	require.NoError(t, err)
	policies := blockingRules(&nodeViews{sets: []*netfilter.Ruleset{rs}}, 8472)
	require.Len(t, policies, 1, "INPUT's DROP policy; FORWARD's sees only routed traffic")
	assert.Equal(t, "policy DROP", policies[0].Text)
	assert.Equal(t, 2, policies[0].Index, "after the chain's last rule")
	assert.Equal(t, uint64(7), policies[0].Packets)
	assert.True(t, policies[0].Counted)
}

// iptables-save prints a netmask that is no prefix as it is: a DROP of the overlay port with it
// stays a candidate.
func TestBlockingRulesKeepNetmaskedDrops(t *testing.T) {
	rs, err := netfilter.ParseIptablesSave(netfilter.XtNft, "*filter\n:INPUT ACCEPT [0:0]\n"+
		"[3:180] -A INPUT -s 10.0.0.0/255.0.255.0 -p udp -m udp --dport 8472 -j DROP\nCOMMIT\n")
	require.NoError(t, err)
	got := blockingRules(&nodeViews{sets: []*netfilter.Ruleset{rs}}, 8472)
	require.Len(t, got, 1)
	assert.Same(t, rs.Chain("ip", "filter", "INPUT").Rules[0], got[0].Rule)
	assert.True(t, got[0].explicit, "it names the port")
}

// A view's digest counts its rules and chains and names the first parts netcert does not read.
func TestDigestNamesOpaqueRuleParts(t *testing.T) {
	in := &netfilter.Chain{Family: "ip", Table: "filter", Name: "INPUT"}
	for i, opaque := range [][]string{{`-m bpf --bytecode "4,48 0 0 9"`}, nil, {"-j NFQUEUE --queue-num 3"}, {"-s not-an-address"}, {"--dport domain"}} {
		in.Rules = append(in.Rules, &netfilter.Rule{Backend: netfilter.XtNft, Family: "ip", Table: "filter", Chain: "INPUT", Index: i + 1, Opaque: opaque})
	}
	rs := &netfilter.Ruleset{Backend: netfilter.XtNft, Chains: []*netfilter.Chain{in, {Family: "ip", Table: "filter", Name: "FW"}}}
	assert.Equal(t, `5 rules in 2 chains; 4 with parts netcert does not read (filter INPUT #1: -m bpf --bytecode "4,48 0 0 9"; `+
		`filter INPUT #3: -j NFQUEUE --queue-num 3; filter INPUT #4: -s not-an-address; …)`, digest(rs))

	nft := &netfilter.Ruleset{Backend: netfilter.Native, Chains: []*netfilter.Chain{{Family: "ip", Table: "t", Name: "c", Rules: []*netfilter.Rule{
		{Backend: netfilter.Native, Family: "ip", Table: "t", Chain: "c", Index: 1, Handle: 3, Opaque: []string{"vmap { 8472 : drop, 53 : accept }"}},
	}}}}
	assert.Equal(t, "1 rules in 1 chains; 1 with parts netcert does not read (ip t c handle 3: vmap { 8472 : drop, 53 : accept })", digest(nft))
}
