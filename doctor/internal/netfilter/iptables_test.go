package netfilter

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// The files under doctor/testdata/netfilter are real iptables 1.8.9 / nftables 1.0.6 output,
// captured by capture.sh in network namespaces loaded with a kind node's rules.
func netfilterFile(t *testing.T, name string) string {
	t.Helper()
	return captures.Read(t, "netfilter", name)
}

// dropsUDP reports whether r drops or rejects UDP to port by a port match.
func dropsUDP(r *Rule, port int) bool { return r.Drops() && r.MatchesUDPPort(port) }

func TestParseIptablesLegacySaveWithCounters(t *testing.T) {
	rs, err := ParseIptablesSave(Legacy, netfilterFile(t, "blocked-legacy.save"))
	require.NoError(t, err)
	input := rs.Chain("ip", "filter", "INPUT")
	require.NotNil(t, input)
	require.Len(t, input.Rules, 1)
	r := input.Rules[0]
	assert.Equal(t, "-A INPUT -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable", r.Text)
	assert.Equal(t, "input", input.Hook)
	assert.True(t, r.Counted)
	assert.Equal(t, "REJECT", r.Verdict)
	assert.True(t, dropsUDP(r, 8472))
	assert.False(t, dropsUDP(r, 8473))

	fwd := rs.Chain("ip", "filter", "FORWARD").Rules[0]
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, fwd.Src.Prefixes)
	assert.Equal(t, []PortMatch{{Ranges: []PortRange{{8470, 8479}, {9000, 9000}}}}, fwd.DPorts, "multiport range and port")
	assert.True(t, dropsUDP(fwd, 8472))
	assert.False(t, dropsUDP(fwd, 8480))
	assert.False(t, dropsUDP(rs.Chain("ip", "raw", "OUTPUT").Rules[0], 8472), "udp 8473")

	empty, err := ParseIptablesSave(Legacy, netfilterFile(t, "flannel-healthy-legacy.save"))
	require.NoError(t, err)
	assert.Empty(t, empty.Chains, "no legacy table in use")
}

func TestParseIptablesNftSave(t *testing.T) {
	rs, err := ParseIptablesSave(XtNft, netfilterFile(t, "blocked-nft.save"))
	require.NoError(t, err)
	var blocking []string
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			if dropsUDP(r, 8472) {
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

	hostFW := rs.Chain("ip", "filter", "HOST-FW")
	notList := hostFW.Rules[4]
	require.Equal(t, "-A HOST-FW -p udp -m multiport ! --dports 53,123,8472 -j DROP", notList.Text)
	assert.True(t, dropsUDP(notList, 4789), "a negated list drops every other port")
	assert.Equal(t, []string{"drop all udp but vxlan"}, hostFW.Rules[3].Comments, "quoted comment")

	input := rs.Chain("ip", "filter", "INPUT")
	assert.Equal(t, "JUMP", input.Rules[1].Verdict)
	assert.Equal(t, "KUBE-FIREWALL", input.Rules[1].Target)
	masq := rs.Chain("ip", "nat", "KIND-MASQ-AGENT").Rules[1]
	assert.Equal(t, "MASQUERADE", masq.Verdict)
	assert.Empty(t, masq.Target, "a target, not a chain")

	dirs := rs.ChainDirections()
	assert.Equal(t, map[string]bool{"in": true}, dirs[hostFW], "reached from INPUT")
	assert.Equal(t, map[string]bool{"in": true, "out": true}, dirs[rs.Chain("ip", "filter", "KUBE-FIREWALL")], "from INPUT and OUTPUT")
	assert.Equal(t, map[string]bool{"out": true}, dirs[rs.Chain("ip", "filter", "OUTPUT")])
}

func TestTokenizeXtQuotes(t *testing.T) {
	r, err := parseIptablesRule(`[5:300] -A INPUT -p udp -m comment --comment "a \"quoted\" -j DROP" -m udp --dport :9000 -j DROP`, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{`a "quoted" -j DROP`}, r.Comments)
	assert.Equal(t, uint64(5), r.Packets)
	assert.Equal(t, []PortMatch{{Ranges: []PortRange{{0, 9000}}}}, r.DPorts)
	assert.Equal(t, "DROP", r.Verdict)

	_, err = parseIptablesRule(`-A INPUT -m comment --comment "open`, nil)
	assert.ErrorContains(t, err, "unterminated quote")
	_, err = ParseIptablesSave(XtNft, "-A INPUT -j DROP\n")
	assert.ErrorContains(t, err, "outside a table")
}

// iptables-save prints a netmask that is no prefix as it is: the rule parses and matches the
// addresses equal in the mask's bits.
func TestParseIptablesNetmasks(t *testing.T) {
	rs, err := ParseIptablesSave(XtNft, `*filter
:INPUT ACCEPT [0:0]
[3:180] -A INPUT -s 10.0.0.0/255.0.255.0 -p udp -m udp --dport 8472 -j DROP
[0:0] -A INPUT -s 10.1.0.0/255.255.0.0 -d fd00::/ffff:0:ffff:: -j ACCEPT
COMMIT
`)
	require.NoError(t, err)
	masked, contiguous := rs.Chain("ip", "filter", "INPUT").Rules[0], rs.Chain("ip", "filter", "INPUT").Rules[1]
	assert.Equal(t, []MaskedAddr{{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("255.0.255.0")}}, masked.Src.Masked)
	assert.True(t, masked.Src.Holds(netip.MustParseAddr("10.7.0.9")), "10.x.0.y")
	assert.False(t, masked.Src.Holds(netip.MustParseAddr("10.7.1.9")))
	assert.True(t, masked.Src.Restricts())
	assert.True(t, dropsUDP(masked, 8472))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, contiguous.Src.Prefixes, "a contiguous mask is a prefix")
	assert.True(t, contiguous.Dst.Holds(netip.MustParseAddr("fd00:7:0:1::1")), "an IPv6 mask")
	assert.False(t, contiguous.Dst.Holds(netip.MustParseAddr("fd00:0:1::1")))
}

// Extensions netcert does not know, targets it cannot follow and values it cannot parse are
// kept in the rule's Opaque; the rule still parses, and what it does not read matches any packet.
func TestParseIptablesKeepsOpaqueParts(t *testing.T) {
	rs, err := ParseIptablesSave(XtNft, `*filter
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
	in := rs.Chain("ip", "filter", "INPUT").Rules
	assert.Equal(t, []string{`-m bpf --bytecode "4,48 0 0 9,21 0 1 17,6 0 0 65535,6 0 0 0"`}, in[0].Opaque)
	assert.True(t, dropsUDP(in[0], 8472), "the udp match after the unknown one is read")
	assert.Nil(t, in[1].Opaque, "CT is known")
	assert.Equal(t, []string{"-j NFQUEUE --queue-num 3"}, in[2].Opaque)
	assert.Equal(t, "NFQUEUE", in[2].Verdict)
	assert.Equal(t, []string{"-s not-an-address"}, in[3].Opaque)
	assert.False(t, in[3].Src.Restricts(), "any source")
	assert.True(t, dropsUDP(in[3], 8472))
	assert.Equal(t, []string{"--dport domain"}, in[4].Opaque)
	assert.True(t, in[4].Drops() && in[4].AdmitsUDPPort(8472), "any port")
	assert.Nil(t, in[5].Opaque)
	assert.Equal(t, "JUMP", in[5].Verdict)
}

// A comment with a newline in it goes on over lines; the rule after it is read.
func TestParseIptablesCommentOverLines(t *testing.T) {
	rs, err := ParseIptablesSave(Legacy, "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -m comment --comment \"two\nlines {\" -j DROP\n[0:0] -A INPUT -j ACCEPT\nCOMMIT\n")
	require.NoError(t, err)
	rules := rs.Chain("ip", "filter", "INPUT").Rules
	require.Len(t, rules, 2)
	assert.Equal(t, []string{"two\nlines {"}, rules[0].Comments)
	assert.Equal(t, "ACCEPT", rules[1].Verdict)

	_, err = ParseIptablesSave(Legacy, "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -m comment --comment \"open\n-A INPUT -j DROP\n")
	assert.ErrorContains(t, err, "line 3: unterminated quote")
}

func TestIptablesDNATTarget(t *testing.T) {
	assert.Equal(t, "10.244.1.2:8080", IptablesDNATTarget(`-A KUBE-SEP-X -p tcp -m comment --comment "a b" -m tcp -j DNAT --to-destination 10.244.1.2:8080`))
	assert.Empty(t, IptablesDNATTarget(`-A KUBE-SEP-X -j DNAT --to-destination "open`))
}
