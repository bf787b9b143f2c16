package netfilter

import (
	"reflect"
	"regexp"
	"testing"

	"github.com/netcert/netcert/doctor/internal/captures"
	"github.com/netcert/netcert/doctor/internal/netfilter/netfiltertest"
)

// The parsers of the tools' output are total: no input panics, every valid output parses (what
// they cannot read is kept opaque), errors name the line, and parsing again gives the same.

// namesLine is how a parse error names where the input is not the tool's output.
var namesLine = regexp.MustCompile(`line \d+`)

// checkRuleset asserts what holds of any parsed ruleset: every rule sits in its chain at its
// index, iptables jumps name chains of the table (nft ones may name chains listed later), and
// the walks over its jumps run.
func checkRuleset(t *testing.T, rs *Ruleset) {
	t.Helper()
	for _, c := range rs.Chains {
		for i, r := range c.Rules {
			if r.Family != c.Family || r.Table != c.Table || r.Chain != c.Name || r.Index != i+1 {
				t.Fatalf("rule %q of %s is at %s %s %s #%d", r.Text, c.Name, r.Family, r.Table, r.Chain, r.Index)
			}
			if rs.Chain(r.Family, r.Table, r.Chain) == nil {
				t.Fatalf("rule %q: no chain %s %s %s", r.Text, r.Family, r.Table, r.Chain)
			}
			if r.Verdict == "JUMP" && r.Backend != Native && rs.Chain(r.Family, r.Table, r.Target) == nil {
				t.Fatalf("rule %q jumps to no chain", r.Text)
			}
			for _, o := range r.Opaque {
				if o == "" {
					t.Fatalf("rule %q: empty opaque part", r.Text)
				}
			}
		}
	}
	_ = rs.ChainDirections()
}

// checkParse runs parse twice on text: an error must name the line; a ruleset must hold up.
func checkParse(t *testing.T, text string, parse func(string) (*Ruleset, error)) {
	rs, err := parse(text)
	if err != nil {
		if !namesLine.MatchString(err.Error()) {
			t.Fatalf("the error names no line: %v", err)
		}
		return
	}
	checkRuleset(t, rs)
	again, err := parse(text)
	if err != nil || !reflect.DeepEqual(rs.Chains, again.Chains) {
		t.Fatalf("a second parse differs (%v)", err)
	}
}

func FuzzParseIptablesSave(f *testing.F) {
	captures.Seed(f, captures.Dirs, ".save")
	for _, rule := range []string{
		`-s 10.0.0.0/255.255.255.0 -p udp -m udp --dport 8472 -j DROP`,
		`-s 10.0.0.0/255.0.255.0 -p udp -m udp --dport 8472 -j DROP`,
		`! -s 10.0.0.0/8 -d 172.18.0.3/32 -p udp -m multiport ! --dports 53,123,8000:9000 -j REJECT --reject-with icmp-port-unreachable`,
		`-s fd00::/64 -d fd00::/ffff:0:ffff:: -j ACCEPT`,
		`-m comment --comment "a \"quoted\" { } -j DROP \\" -j ACCEPT`,
		`-m set --match-set cali40all-vxlan-net src -m udp -p udp --dport 4789 -j ACCEPT`,
		`-m set ! --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ`,
		`-m bpf --bytecode "4,48 0 0 9,21 0 1 17,6 0 0 65535,6 0 0 0" -j DROP`,
		`-m u32 --u32 "0x0>>0x16&0x3c@0x4&0xffff=0x2118" -j DROP`,
		`-j CT --notrack`,
		`-p udp -j NFQUEUE --queue-num 0 --queue-bypass`,
		`-i cali+ -g cali-fw-cali7c0ddfa3026`,
		`-m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-AAAA`,
		`-p tcp -m tcp -j DNAT --to-destination 10.244.1.2:8080`,
		`-c 5 300 -p udp --dport : -j DROP`,
		`-p udp --dport 9000:8000 -j DROP`,
		`-s 10.0.0.0/33 -j DROP`,
		`! -j DROP !`,
		`unexpected words -j`,
	} {
		f.Add("*filter\n:INPUT DROP [7:420]\n:FORWARD ACCEPT [0:0]\n:KUBE-SEP-AAAA - [0:0]\n:cali-fw-cali7c0ddfa3026 - [0:0]\n[1:2] -A INPUT " + rule + "\nCOMMIT\n")
	}
	f.Add("*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -m comment --comment \"two\nlines {\" -j DROP\nCOMMIT\n")
	f.Add("*nat\n:X - [0:0]\n-A X -j X\n-A Y -j X\n")
	f.Add("-A INPUT -j DROP\n")
	f.Add("*filter\n[1:x] -A INPUT\n")
	f.Fuzz(func(t *testing.T, text string) {
		checkParse(t, text, func(s string) (*Ruleset, error) { return ParseIptablesSave(XtNft, s) })
	})
}

func FuzzParseNftRuleset(f *testing.F) {
	captures.Seed(f, captures.Dirs, ".nft")
	f.Add(netfiltertest.NftSet(300))
	f.Add(`table inet fw { # handle 1
	comment "host { firewall"
	set ports { # handle 2
		type inet_service
		flags interval
		elements = { 53 comment "dns {", 123,
			     8000-9000 comment "} vxlan \"#\"" }
	}

	map m { # handle 3
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 10.96.0.10 . udp . 53 comment "a { b" : goto svc,
			     10.96.0.1 . tcp . 443 : drop }
	}

	chain input { # handle 4
		type filter hook input priority filter; policy drop;
		comment "input { chain"
		meta l4proto { tcp, udp } th dport @ports counter packets 3 bytes 180 drop comment "a { b" # handle 5
		ip saddr & 255.0.255.0 == 10.0.0.0 udp dport 8472 drop # handle 6
		ip saddr != { 10.0.0.1, 10.0.0.2-10.0.0.9 } udp dport != 8472 reject with icmp type admin-prohibited # handle 7
		ip daddr . meta l4proto . th dport vmap @m # handle 8
		numgen random mod 2 vmap { 0 : goto svc, 1 : jump svc } # handle 9
		iifname != "cali*" udp dport vmap { 8472 : drop, 53 : accept } # handle 10
		udp dport domain queue num 1 comment "c } d "e" # handle 99" # handle 11
		ip6 saddr fd00::/64 ip daddr set 10.0.0.1 accept # handle 12
	}

	chain svc { # handle 13
		dnat to ip daddr map { 10.0.0.1 : 10.0.0.2 } # handle 14
	}

	flowtable ft { # handle 15
		hook ingress priority filter
		devices = { eth0, eth1 }
	}
}
table netdev edge { # handle 16
	chain ingress { # handle 17
		type filter hook ingress device "eth0" priority filter; policy accept;
		ip saddr 10.0.0.0/8 udp dport 8472 counter packets 0 bytes 0 reject # handle 18
	}
}
`)
	f.Add("table ip t { # handle 1\n\tchain c { # handle 2\n")
	f.Add("table ip t {\n\tset s {\n\t\telements = { 1,\n\t\t\t2\n")
	f.Add("}\n")
	f.Fuzz(func(t *testing.T, text string) {
		checkParse(t, text, ParseNft)
	})
}
