// Package netfilter is the model of a node's netfilter rules that netcert reasons about, and the
// parsers that read it from the tools' output: iptables-save (legacy and nft) and nft's ruleset.
// Parsing and matching are here; what the rules mean for a diagnosis is doctor's.
package netfilter

// Backend names one of the three netfilter views of a node: the kernel applies all of them.
type Backend string

// The views and the commands that print them with their packet counters.
const (
	Legacy Backend = "iptables-legacy" // iptables-legacy-save -c: the legacy xtables
	XtNft  Backend = "iptables-nft"    // iptables-nft-save -c: iptables rules kept in nf_tables
	Native Backend = "nft"             // nft -a list ruleset: native nf_tables
)

// Rule is one rule of a netfilter view, reduced to what netcert reasons about.
type Rule struct {
	Backend  Backend
	Family   string // "ip" in the iptables views; the table's family in nft
	Table    string
	Chain    string
	Index    int    // 1-based position in its chain
	Handle   int    // nft's rule handle; 0 in the iptables views
	Text     string // as the tool prints it, without the counter and the handle
	Counted  bool   // whether the rule has a packet counter
	Packets  uint64
	Protos   []string // protocols it matches ("udp", "tcp"); nil: any
	ProtoNeg bool
	DPorts   []PortMatch // every one must match
	Src, Dst AddrMatch
	InIface  string // the input-interface match ("cali+" in iptables, "cali*" in nft); "" for any
	InNeg    bool
	OutIface string // the output-interface match, as InIface
	OutNeg   bool
	Comments []string
	Verdict  string // ACCEPT, DROP, REJECT, RETURN, JUMP, GOTO, or another target's name
	Target   string // the chain of a JUMP or GOTO
	Policy   bool   // the chain's policy, as a rule after its last one (Text "policy DROP")
	// MapTargets are the chains an nft verdict map of the rule jumps or goes to.
	MapTargets []string
	// Opaque are the parts of the rule netcert cannot read, as printed: extensions it does not
	// know, verdicts it cannot follow (verdict maps, queues), values it cannot parse of the
	// matches it reads. The rule is kept; a match left unread matches any packet.
	Opaque []string
}

// Where is the rule's table and chain, with the nft family: "raw PREROUTING", "inet t input".
func (r *Rule) Where() string {
	if r.Backend == Native {
		return r.Family + " " + r.Table + " " + r.Chain
	}
	return r.Table + " " + r.Chain
}

// MatchesUDPPort reports whether the rule matches UDP to port by a destination-port match (a rule
// without one is out of scope, as is one that matches only source ports).
func (r *Rule) MatchesUDPPort(port int) bool {
	return r.Protos != nil && len(r.DPorts) > 0 && r.AdmitsUDPPort(port)
}

// AdmitsUDPPort reports whether nothing in the rule's protocol and destination-port matches rules
// out UDP to port (a rule with neither admits it).
func (r *Rule) AdmitsUDPPort(port int) bool {
	if r.Protos != nil {
		udp := false
		for _, p := range r.Protos {
			udp = udp || p == "udp" || p == "17"
		}
		if udp == r.ProtoNeg {
			return false
		}
	}
	for _, m := range r.DPorts {
		if !m.Matches(port) {
			return false
		}
	}
	return true
}

// Drops reports whether the rule's verdict discards the packet: DROP, REJECT, or a chain's
// DROP policy.
func (r *Rule) Drops() bool { return r.Verdict == "DROP" || r.Verdict == "REJECT" }
