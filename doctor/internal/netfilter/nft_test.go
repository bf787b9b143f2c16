package netfilter

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNftRuleset(t *testing.T) {
	rs, err := ParseNft(netfilterFile(t, "blocked-ruleset.nft"))
	require.NoError(t, err)
	fault := rs.Chain("inet", "netcert_fault", "input")
	require.NotNil(t, fault)
	assert.Equal(t, "input", fault.Hook)
	require.Len(t, fault.Rules, 1)
	assert.Equal(t, &Rule{Backend: Native, Family: "inet", Table: "netcert_fault", Chain: "input", Index: 1, Handle: 2,
		Text: `udp dport 8472 counter packets 0 bytes 0 drop comment "netcert-fault"`, Counted: true,
		Protos: []string{"udp"}, DPorts: []PortMatch{{Ranges: []PortRange{{8472, 8472}}}}, Comments: []string{"netcert-fault"}, Verdict: "DROP"},
		fault.Rules[0])

	custom := rs.Chain("ip", "fw", "custom")
	assert.Equal(t, []PortRange{{4789, 4789}, {8472, 8472}}, custom.Rules[0].DPorts[0].Ranges, "@overlay_ports resolved")
	assert.True(t, dropsUDP(custom.Rules[0], 8472))
	assert.False(t, dropsUDP(custom.Rules[2], 8472), "tcp dport 8472")
	pre := rs.Chain("ip", "fw", "pre").Rules[0]
	assert.True(t, dropsUDP(pre, 8472), "udp dport 8000-9000")
	assert.False(t, pre.Counted)
	assert.Equal(t, 6, pre.Handle)
	out := rs.Chain("ip", "fw", "out").Rules[0]
	assert.True(t, dropsUDP(out, 8472), "udp dport { 53, 8472 } reject")
	assert.Equal(t, "REJECT", out.Verdict)
	edge := rs.Chain("netdev", "edge", "ingress")
	assert.Equal(t, "ingress", edge.Hook)
	assert.True(t, dropsUDP(edge.Rules[0], 8472))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, edge.Rules[0].Src.Prefixes)
	agent := rs.Chain("inet", "host_agent", "input")
	for _, r := range agent.Rules {
		assert.False(t, dropsUDP(r, 8472), r.Text)
	}
	assert.True(t, dropsUDP(agent.Rules[3], 4789), "udp dport != 8472 reject")
	assert.Equal(t, "JUMP", rs.Chain("ip", "fw", "in").Rules[0].Verdict)
	assert.Equal(t, map[string]bool{"in": true}, rs.ChainDirections()[custom], "jumped to from the input hook")

	// iptables-nft's own tables are in the ruleset too, in nft's words.
	raw := rs.Chain("ip", "raw", "PREROUTING")
	require.NotNil(t, raw)
	assert.Equal(t, "udp dport 8472  counter packets 0 bytes 0 drop", raw.Rules[0].Text)
}

func TestParseNftMultiLineSetAndNegations(t *testing.T) {
	rs, err := ParseNft(`table ip t { # handle 1
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
	c := rs.Chain("ip", "t", "c")
	require.Len(t, c.Rules, 3)
	assert.True(t, dropsUDP(c.Rules[0], 8472))
	assert.True(t, c.Rules[0].Src.Negate)
	assert.Equal(t, uint64(3), c.Rules[0].Packets)
	assert.False(t, dropsUDP(c.Rules[1], 8472), "not udp")
	accept := c.Rules[2]
	assert.True(t, accept.Verdict == "ACCEPT" && accept.MatchesUDPPort(8472) && accept.Dst.Restricts(), "accept to a set of nodes")
	assert.Equal(t, "nodes", accept.Dst.Set)

	_, err = ParseNft("table ip t { # handle 1\n\tchain c { # handle 2\n")
	assert.ErrorContains(t, err, "not closed")
}

// Braces, "#" and quotes in nft comments are text: the chains after them are found. nft prints
// strings as they are, without escapes (iptables-nft's comments may hold quotes).
func TestParseNftCommentsWithBraces(t *testing.T) {
	rs, err := ParseNft(`table inet fw { # handle 1
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
	input := rs.Chain("inet", "fw", "input")
	require.NotNil(t, input)
	require.Len(t, input.Rules, 2)
	assert.Equal(t, []string{"a { b"}, input.Rules[0].Comments)
	assert.Equal(t, 5, input.Rules[1].Handle)
	assert.True(t, dropsUDP(input.Rules[1], 8472), "@ports resolved past its elements' comments")
	output := rs.Chain("inet", "fw", "output")
	require.NotNil(t, output)
	assert.Equal(t, "DROP", output.Policy)
	assert.Equal(t, "JUMP", output.Rules[0].Verdict)
	require.NotNil(t, rs.Chain("ip", "t2", "c"), "the next table")
	assert.Len(t, rs.Chain("ip", "t2", "c").Rules, 1)
}

// Verdicts netcert cannot follow and values it cannot parse are kept in the rule's Opaque; a
// verdict map of jumps and gotos is followed.
func TestParseNftKeepsOpaqueParts(t *testing.T) {
	nft, err := ParseNft(`table ip t { # handle 1
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
	c := nft.Chain("ip", "t", "c").Rules
	assert.Equal(t, []string{"vmap { 8472 : drop, 53 : accept }"}, c[0].Opaque)
	assert.Empty(t, c[0].Verdict, "the verdict is the map's")
	assert.Empty(t, c[0].DPorts, "the port is the map's key")
	assert.Equal(t, []string{"udp dport domain"}, c[1].Opaque)
	assert.True(t, c[1].Drops() && c[1].AdmitsUDPPort(8472), "any port")
	assert.Equal(t, []MaskedAddr{{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("255.0.255.0")}}, c[2].Src.Masked)
	assert.True(t, dropsUDP(c[2], 8472))
	assert.Equal(t, []string{"queue num 1"}, c[3].Opaque)
	assert.Equal(t, []string{"to userspace"}, c[3].Comments)
	assert.Nil(t, c[4].Opaque, "a verdict map of gotos and jumps is followed")
	assert.Equal(t, []string{"a", "b"}, c[4].MapTargets)
	hooks := nft.ChainHooks()
	assert.Equal(t, map[string]bool{"input": true}, hooks[nft.Chain("ip", "t", "b")], "reached through the map")
}
