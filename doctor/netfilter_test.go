package doctor

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestParseIptablesLegacySaveWithCounters(t *testing.T) {
	rs, err := parseIptablesSave(nfLegacy, netfilterFile(t, "blocked", "legacy.save"))
	require.NoError(t, err)
	input := rs.chain("ip", "filter", "INPUT")
	require.NotNil(t, input)
	require.Len(t, input.Rules, 1)
	r := input.Rules[0]
	assert.Equal(t, "-A INPUT -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable", r.Text)
	assert.Equal(t, "input", input.Hook)
	assert.True(t, r.Counted)
	assert.Equal(t, "REJECT", r.Verdict)
	assert.True(t, r.blocks(8472))
	assert.False(t, r.blocks(8473))

	fwd := rs.chain("ip", "filter", "FORWARD").Rules[0]
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, fwd.Src.Prefixes)
	assert.Equal(t, []portMatch{{Ranges: []portRange{{8470, 8479}, {9000, 9000}}}}, fwd.DPorts, "multiport range and port")
	assert.True(t, fwd.blocks(8472))
	assert.False(t, fwd.blocks(8480))
	assert.False(t, rs.chain("ip", "raw", "OUTPUT").Rules[0].blocks(8472), "udp 8473")

	empty, err := parseIptablesSave(nfLegacy, netfilterFile(t, "flannel-healthy", "legacy.save"))
	require.NoError(t, err)
	assert.Empty(t, empty.Chains, "no legacy table in use")
}

func TestParseIptablesNftSave(t *testing.T) {
	rs, err := parseIptablesSave(nfXtNft, netfilterFile(t, "blocked", "nft.save"))
	require.NoError(t, err)
	var blocking []string
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			if r.blocks(8472) {
				blocking = append(blocking, r.Where()+": "+r.Text)
			}
		}
	}
	assert.Equal(t, []string{
		"mangle FORWARD: -A FORWARD -p udp -m multiport --dports 53,8472 -j DROP",
		"raw PREROUTING: -A PREROUTING -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP",
		"filter INPUT: -A INPUT -p udp -m udp --dport 8472 -m comment --comment netcert-fault -j DROP",
		"filter OUTPUT: -A OUTPUT -p udp -m multiport --dports 8000:9000 -j REJECT --reject-with icmp-port-unreachable",
		"filter HOST-FW: -A HOST-FW -p udp -m udp --dport 8400:8500 -j REJECT --reject-with icmp-admin-prohibited",
	}, blocking, "not: udp 4789, tcp 8472, udp sport 8472, ! --dport 8472 (LOG), ! --dports 53,123,8472, tcp 8000:9000")

	hostFW := rs.chain("ip", "filter", "HOST-FW")
	notList := hostFW.Rules[4]
	require.Equal(t, "-A HOST-FW -p udp -m multiport ! --dports 53,123,8472 -j DROP", notList.Text)
	assert.True(t, notList.blocks(4789), "a negated list drops every other port")
	assert.Equal(t, []string{"drop all udp but vxlan"}, hostFW.Rules[3].Comments, "quoted comment")

	input := rs.chain("ip", "filter", "INPUT")
	assert.Equal(t, "JUMP", input.Rules[1].Verdict)
	assert.Equal(t, "KUBE-FIREWALL", input.Rules[1].Target)
	masq := rs.chain("ip", "nat", "KIND-MASQ-AGENT").Rules[1]
	assert.Equal(t, "MASQUERADE", masq.Verdict)
	assert.Empty(t, masq.Target, "a target, not a chain")

	dirs := rs.chainDirections()
	assert.Equal(t, map[string]bool{"in": true}, dirs[hostFW], "reached from INPUT")
	assert.Equal(t, map[string]bool{"in": true, "out": true}, dirs[rs.chain("ip", "filter", "KUBE-FIREWALL")], "from INPUT and OUTPUT")
	assert.Equal(t, map[string]bool{"out": true}, dirs[rs.chain("ip", "filter", "OUTPUT")])
}

func TestParseNftRuleset(t *testing.T) {
	rs, err := parseNftRuleset(netfilterFile(t, "blocked", "ruleset.nft"))
	require.NoError(t, err)
	fault := rs.chain("inet", "netcert_fault", "input")
	require.NotNil(t, fault)
	assert.Equal(t, "input", fault.Hook)
	require.Len(t, fault.Rules, 1)
	assert.Equal(t, &nfRule{Backend: nfNative, Family: "inet", Table: "netcert_fault", Chain: "input", Index: 1, Handle: 2,
		Text: `udp dport 8472 counter packets 0 bytes 0 drop comment "netcert-fault"`, Counted: true,
		Protos: []string{"udp"}, DPorts: []portMatch{{Ranges: []portRange{{8472, 8472}}}}, Comments: []string{"netcert-fault"}, Verdict: "DROP"},
		fault.Rules[0])

	custom := rs.chain("ip", "fw", "custom")
	assert.Equal(t, []portRange{{4789, 4789}, {8472, 8472}}, custom.Rules[0].DPorts[0].Ranges, "@overlay_ports resolved")
	assert.True(t, custom.Rules[0].blocks(8472))
	assert.False(t, custom.Rules[2].blocks(8472), "tcp dport 8472")
	pre := rs.chain("ip", "fw", "pre").Rules[0]
	assert.True(t, pre.blocks(8472), "udp dport 8000-9000")
	assert.False(t, pre.Counted)
	assert.Equal(t, 6, pre.Handle)
	out := rs.chain("ip", "fw", "out").Rules[0]
	assert.True(t, out.blocks(8472), "udp dport { 53, 8472 } reject")
	assert.Equal(t, "REJECT", out.Verdict)
	edge := rs.chain("netdev", "edge", "ingress")
	assert.Equal(t, "ingress", edge.Hook)
	assert.True(t, edge.Rules[0].blocks(8472))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, edge.Rules[0].Src.Prefixes)
	agent := rs.chain("inet", "host_agent", "input")
	for _, r := range agent.Rules {
		assert.False(t, r.blocks(8472), r.Text)
	}
	assert.True(t, agent.Rules[3].blocks(4789), "udp dport != 8472 reject")
	assert.Equal(t, "JUMP", rs.chain("ip", "fw", "in").Rules[0].Verdict)
	assert.Equal(t, map[string]bool{"in": true}, rs.chainDirections()[custom], "jumped to from the input hook")

	// iptables-nft's own tables are in the ruleset too, in nft's words.
	raw := rs.chain("ip", "raw", "PREROUTING")
	require.NotNil(t, raw)
	assert.Equal(t, "udp dport 8472  counter packets 0 bytes 0 drop", raw.Rules[0].Text)
}

func TestParseNftMultiLineSetAndNegations(t *testing.T) {
	rs, err := parseNftRuleset(`table ip t { # handle 1
	set ports { # handle 2
		type inet_service
		flags interval
		elements = { 53, 123,
			     8000-9000 }
	}

	map m { # handle 3
		type inet_service : verdict
		elements = { 8472 : drop }
	}

	chain c { # handle 4
		ip saddr != { 10.0.0.1, 10.0.0.2 } meta l4proto udp th dport @ports counter packets 3 bytes 180 drop # handle 5
		meta l4proto != udp th dport 8472 drop # handle 6
		ip daddr @nodes udp dport 8472 accept # handle 7
	}
}
`)
	require.NoError(t, err)
	c := rs.chain("ip", "t", "c")
	require.Len(t, c.Rules, 3)
	assert.True(t, c.Rules[0].blocks(8472))
	assert.True(t, c.Rules[0].Src.Negate)
	assert.Equal(t, uint64(3), c.Rules[0].Packets)
	assert.False(t, c.Rules[1].blocks(8472), "not udp")
	assert.True(t, c.Rules[2].allowList(8472), "accept to a set of nodes")

	_, err = parseNftRuleset("table ip t { # handle 1\n\tchain c { # handle 2\n")
	assert.ErrorContains(t, err, "not closed")
}

func TestTokenizeXtQuotes(t *testing.T) {
	r, err := parseIptablesRule(`[5:300] -A INPUT -p udp -m comment --comment "a \"quoted\" -j DROP" -m udp --dport :9000 -j DROP`, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{`a "quoted" -j DROP`}, r.Comments)
	assert.Equal(t, uint64(5), r.Packets)
	assert.Equal(t, []portMatch{{Ranges: []portRange{{0, 9000}}}}, r.DPorts)
	assert.Equal(t, "DROP", r.Verdict)

	_, err = parseIptablesRule(`-A INPUT -m comment --comment "open`, nil)
	assert.ErrorContains(t, err, "unterminated quote")
	_, err = parseIptablesSave(nfXtNft, "-A INPUT -j DROP\n")
	assert.ErrorContains(t, err, "outside a table")
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
		assert.Equal(t, rules[0].ref(), repaired[0].ref(), "the same rule across reads")
		assert.True(t, strings.HasPrefix(repaired[0].ref(), string(rules[0].Backend)))
	}
}

// Calico drops VXLAN that pods send, in per-workload chains reached only from pods' interfaces;
// such rules never see the overlay between nodes and must not be reported.
func TestBlockingRulesSkipRulesThatSeeOnlyPodTraffic(t *testing.T) {
	rs, err := parseIptablesSave(nfXtNft, `*filter
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
	got := ruleTexts(portRules(blockingRules(&nodeViews{sets: []*nfRuleset{rs}}, 4789)))
	assert.Equal(t, []string{"iptables-nft filter INPUT: -A INPUT -i eth0 -p udp -m udp --dport 4789 -j DROP"}, got)

	nft, err := parseNftRuleset(`table inet fw {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "cali*" udp dport 4789 counter packets 0 bytes 0 drop # handle 2
		iifname != "cali*" udp dport 4789 counter packets 0 bytes 0 drop # handle 3
	}
}
`)
	require.NoError(t, err)
	got = ruleTexts(portRules(blockingRules(&nodeViews{sets: []*nfRuleset{nft}}, 4789)))
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
		others = append(others, string(r.Backend)+" "+r.Where()+" "+r.position())
	}
	assert.Contains(t, others, "iptables-nft filter KUBE-FIREWALL #1", "a drop that names no protocol")
	assert.NotContains(t, others, "iptables-nft filter KUBE-FORWARD #1", "reached from FORWARD only: never the node's own overlay packets")
	assert.NotContains(t, others, "iptables-nft filter HOST-FW #2", "tcp/8472 is not the overlay")
	assert.NotContains(t, others, "iptables-nft filter HOST-FW #5", "every udp port but 53, 123 and 8472")
	rs, err := parseIptablesSave(nfLegacy, "*filter\n:INPUT DROP [7:420]\n:OUTPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n[1:2] -A INPUT -i lo -j ACCEPT\nCOMMIT\n")
	require.NoError(t, err)
	policies := blockingRules(&nodeViews{sets: []*nfRuleset{rs}}, 8472)
	require.Len(t, policies, 1, "INPUT's DROP policy; FORWARD's sees only routed traffic")
	assert.Equal(t, "policy DROP", policies[0].Text)
	assert.Equal(t, 2, policies[0].Index, "after the chain's last rule")
	assert.Equal(t, uint64(7), policies[0].Packets)
	assert.True(t, policies[0].Counted)
}

// iptables-save prints a netmask that is no prefix as it is: the rule parses, matches the
// addresses equal in the mask's bits, and a DROP of the overlay port with it stays a candidate.
func TestParseIptablesNetmasks(t *testing.T) {
	rs, err := parseIptablesSave(nfXtNft, `*filter
:INPUT ACCEPT [0:0]
[3:180] -A INPUT -s 10.0.0.0/255.0.255.0 -p udp -m udp --dport 8472 -j DROP
[0:0] -A INPUT -s 10.1.0.0/255.255.0.0 -d fd00::/ffff:0:ffff:: -j ACCEPT
COMMIT
`)
	require.NoError(t, err)
	masked, contiguous := rs.chain("ip", "filter", "INPUT").Rules[0], rs.chain("ip", "filter", "INPUT").Rules[1]
	assert.Equal(t, []maskedAddr{{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("255.0.255.0")}}, masked.Src.Masked)
	assert.True(t, masked.Src.holds(netip.MustParseAddr("10.7.0.9")), "10.x.0.y")
	assert.False(t, masked.Src.holds(netip.MustParseAddr("10.7.1.9")))
	assert.True(t, masked.Src.restricts())
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, contiguous.Src.Prefixes, "a contiguous mask is a prefix")
	assert.True(t, contiguous.Dst.holds(netip.MustParseAddr("fd00:7:0:1::1")), "an IPv6 mask")
	assert.False(t, contiguous.Dst.holds(netip.MustParseAddr("fd00:0:1::1")))

	got := blockingRules(&nodeViews{sets: []*nfRuleset{rs}}, 8472)
	require.Len(t, got, 1)
	assert.Same(t, masked, got[0].nfRule)
	assert.True(t, got[0].explicit, "it names the port")
}

// Braces, "#" and quotes in nft comments are text: the chains after them are found. nft prints
// strings as they are, without escapes (iptables-nft's comments may hold quotes).
func TestParseNftCommentsWithBraces(t *testing.T) {
	rs, err := parseNftRuleset(`table inet fw { # handle 1
	comment "host { firewall"
	set ports { # handle 2
		type inet_service
		elements = { 53 comment "dns {",
			     8472 comment "} vxlan #" }
	}

	chain input { # handle 3
		type filter hook input priority filter; policy accept;
		comment "input { chain"
		udp dport 4789 counter packets 1 bytes 50 drop comment "a { b" # handle 4
		udp dport @ports drop comment "c } d "e" # handle 99" # handle 5
	}

	chain output { # handle 6
		type filter hook output priority filter; policy drop;
		jump input # handle 7
	}
}
table ip t2 { # handle 8
	chain c { # handle 9
		udp dport 8472 drop # handle 10
	}
}
`)
	require.NoError(t, err)
	input := rs.chain("inet", "fw", "input")
	require.NotNil(t, input)
	require.Len(t, input.Rules, 2)
	assert.Equal(t, []string{"a { b"}, input.Rules[0].Comments)
	assert.Equal(t, 5, input.Rules[1].Handle)
	assert.True(t, input.Rules[1].blocks(8472), "@ports resolved past its elements' comments")
	output := rs.chain("inet", "fw", "output")
	require.NotNil(t, output)
	assert.Equal(t, "DROP", output.Policy)
	assert.Equal(t, "JUMP", output.Rules[0].Verdict)
	require.NotNil(t, rs.chain("ip", "t2", "c"), "the next table")
	assert.Len(t, rs.chain("ip", "t2", "c").Rules, 1)
}

// Extensions netcert does not know, verdicts it cannot follow and values it cannot parse are
// kept in the rule's Opaque and reported in the view's digest; the rule still parses, and what
// it does not read matches any packet.
func TestOpaqueRulePartsAreKeptAndReported(t *testing.T) {
	rs, err := parseIptablesSave(nfXtNft, `*filter
:INPUT ACCEPT [0:0]
:FW - [0:0]
[4:240] -A INPUT -p udp -m bpf --bytecode "4,48 0 0 9,21 0 1 17,6 0 0 65535,6 0 0 0" -m udp --dport 8472 -j DROP
[0:0] -A INPUT -j CT --notrack
[0:0] -A INPUT -p udp -j NFQUEUE --queue-num 3
[0:0] -A INPUT -s not-an-address -p udp -m udp --dport 8472 -j DROP
[0:0] -A INPUT -p udp -m udp --dport domain -j DROP
[0:0] -A INPUT -j FW
COMMIT
`)
	require.NoError(t, err)
	in := rs.chain("ip", "filter", "INPUT").Rules
	assert.Equal(t, []string{`-m bpf --bytecode "4,48 0 0 9,21 0 1 17,6 0 0 65535,6 0 0 0"`}, in[0].Opaque)
	assert.True(t, in[0].blocks(8472), "the udp match after the unknown one is read")
	assert.Nil(t, in[1].Opaque, "CT is known")
	assert.Equal(t, []string{"-j NFQUEUE --queue-num 3"}, in[2].Opaque)
	assert.Equal(t, "NFQUEUE", in[2].Verdict)
	assert.Equal(t, []string{"-s not-an-address"}, in[3].Opaque)
	assert.False(t, in[3].Src.restricts(), "any source")
	assert.True(t, in[3].blocks(8472))
	assert.Equal(t, []string{"--dport domain"}, in[4].Opaque)
	assert.True(t, in[4].mayDropUDPPort(8472), "any port: still a candidate")
	assert.Nil(t, in[5].Opaque)
	assert.Equal(t, "JUMP", in[5].Verdict)
	assert.Equal(t, `6 rules in 2 chains; 4 with parts netcert does not read (filter INPUT #1: -m bpf --bytecode "4,48 0 0 9,21 0 1 17,6 0 0 65535,6 0 0 0"; `+
		`filter INPUT #3: -j NFQUEUE --queue-num 3; filter INPUT #4: -s not-an-address; …)`, rs.digest())

	nft, err := parseNftRuleset(`table ip t { # handle 1
	chain c { # handle 2
		type filter hook input priority filter; policy accept;
		udp dport vmap { 8472 : drop, 53 : accept } # handle 3
		udp dport domain drop # handle 4
		ip saddr & 255.0.255.0 == 10.0.0.0 udp dport 8472 drop # handle 5
		meta l4proto udp queue num 1 comment "to userspace" # handle 6
		numgen random mod 2 vmap { 0 : goto a, 1 : jump b } # handle 7
	}
	chain a { # handle 8
	}
	chain b { # handle 9
	}
}
`)
	require.NoError(t, err)
	c := nft.chain("ip", "t", "c").Rules
	assert.Equal(t, []string{"vmap { 8472 : drop, 53 : accept }"}, c[0].Opaque)
	assert.Empty(t, c[0].Verdict, "the verdict is the map's")
	assert.Empty(t, c[0].DPorts, "the port is the map's key")
	assert.Equal(t, []string{"udp dport domain"}, c[1].Opaque)
	assert.True(t, c[1].mayDropUDPPort(8472), "any port: still a candidate")
	assert.Equal(t, []maskedAddr{{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("255.0.255.0")}}, c[2].Src.Masked)
	assert.True(t, c[2].blocks(8472))
	assert.Equal(t, []string{"queue num 1"}, c[3].Opaque)
	assert.Equal(t, []string{"to userspace"}, c[3].Comments)
	assert.Nil(t, c[4].Opaque, "a verdict map of gotos and jumps is followed")
	assert.Equal(t, []string{"a", "b"}, c[4].MapTargets)
	hooks := nft.chainHooks()
	assert.Equal(t, map[string]bool{"input": true}, hooks[nft.chain("ip", "t", "b")], "reached through the map")
	assert.Contains(t, nft.digest(), "3 with parts netcert does not read (ip t c handle 3: vmap { 8472 : drop, 53 : accept }")
}

// A comment with a newline in it goes on over lines; the rule after it is read.
func TestParseIptablesCommentOverLines(t *testing.T) {
	rs, err := parseIptablesSave(nfLegacy, "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -m comment --comment \"two\nlines {\" -j DROP\n[0:0] -A INPUT -j ACCEPT\nCOMMIT\n")
	require.NoError(t, err)
	rules := rs.chain("ip", "filter", "INPUT").Rules
	require.Len(t, rules, 2)
	assert.Equal(t, []string{"two\nlines {"}, rules[0].Comments)
	assert.Equal(t, "ACCEPT", rules[1].Verdict)

	_, err = parseIptablesSave(nfLegacy, "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -m comment --comment \"open\n-A INPUT -j DROP\n")
	assert.ErrorContains(t, err, "line 3: unterminated quote")
}
