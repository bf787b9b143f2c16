package doctor

import (
	"fmt"
	"maps"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// nfBackend names one of the three netfilter views of a node: the kernel applies all of them.
type nfBackend string

// The views and the commands that print them with their packet counters.
const (
	nfLegacy nfBackend = "iptables-legacy" // iptables-legacy-save -c: the legacy xtables
	nfXtNft  nfBackend = "iptables-nft"    // iptables-nft-save -c: iptables rules kept in nf_tables
	nfNative nfBackend = "nft"             // nft -a list ruleset: native nf_tables
)

// portRange is an inclusive range of ports.
type portRange struct{ Lo, Hi int }

// portMatch is one destination-port match of a rule: the listed ports or, negated, every other.
type portMatch struct {
	Ranges []portRange
	Negate bool
}

// matches reports whether port satisfies the match.
func (m portMatch) matches(port int) bool {
	in := false
	for _, r := range m.Ranges {
		in = in || (r.Lo <= port && port <= r.Hi)
	}
	return in != m.Negate
}

// addrMatch is a source or destination match: prefixes, addresses under a netmask, or a named set,
// possibly negated.
type addrMatch struct {
	Prefixes []netip.Prefix
	Masked   []maskedAddr // non-contiguous netmasks (iptables' -s 10.0.0.0/255.0.255.0)
	Set      string       // an ipset (--match-set) or nft set (@name)
	Negate   bool
}

// maskedAddr is an address under a netmask that is no prefix: it holds every address that
// equals Addr in the bits Mask sets.
type maskedAddr struct{ Addr, Mask netip.Addr }

// contains reports whether a equals the masked address in the mask's bits.
func (m maskedAddr) contains(a netip.Addr) bool {
	if a.BitLen() != m.Addr.BitLen() {
		return false
	}
	x, y, mask := a.As16(), m.Addr.As16(), m.Mask.As16()
	for i := range mask {
		if x[i]&mask[i] != y[i]&mask[i] {
			return false
		}
	}
	return true
}

// add parses an address, a prefix ("10.0.0.0/8") or an address under a netmask
// ("10.0.0.0/255.255.255.0", "10.0.0.0/255.0.255.0") into the match.
func (m *addrMatch) add(s string) error {
	addrText, maskText, masked := strings.Cut(s, "/")
	if !masked || !strings.ContainsAny(maskText, ".:") {
		p, err := parsePrefixOrAddr(s)
		if err == nil {
			m.Prefixes = append(m.Prefixes, p)
		}
		return err
	}
	addr, err := netip.ParseAddr(addrText)
	mask, merr := netip.ParseAddr(maskText)
	if err != nil || merr != nil || mask.BitLen() != addr.BitLen() || mask.Zone() != "" {
		return fmt.Errorf("bad address or netmask %q", s)
	}
	if bits, ok := prefixLen(mask); ok {
		m.Prefixes = append(m.Prefixes, netip.PrefixFrom(addr, bits))
	} else {
		m.Masked = append(m.Masked, maskedAddr{addr, mask})
	}
	return nil
}

// prefixLen returns the length of a contiguous netmask (255.255.255.0: 24); ok is false when the
// mask's ones are not all at its start.
func prefixLen(mask netip.Addr) (n int, ok bool) {
	for _, x := range mask.AsSlice() {
		n += bits.OnesCount8(x)
	}
	p, err := mask.Prefix(n)
	return n, err == nil && p.Addr() == mask
}

// parsePrefixOrAddr parses "10.0.0.0/8" or a bare address (a host prefix).
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// restricts reports whether the match admits only listed addresses.
func (m addrMatch) restricts() bool {
	return !m.Negate && (len(m.Prefixes) > 0 || len(m.Masked) > 0 || m.Set != "")
}

// holds reports whether the match lists addr itself (a prefix or masked address that contains it).
func (m addrMatch) holds(addr netip.Addr) bool {
	return !m.Negate && (slices.ContainsFunc(m.Prefixes, func(p netip.Prefix) bool { return p.Contains(addr) }) ||
		slices.ContainsFunc(m.Masked, func(x maskedAddr) bool { return x.contains(addr) }))
}

// nfRule is one rule of a netfilter view, reduced to what netcert reasons about.
type nfRule struct {
	Backend  nfBackend
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
	DPorts   []portMatch // every one must match
	Src, Dst addrMatch
	InIface  string // the input-interface match ("cali+" in iptables, "cali*" in nft); "" for any
	InNeg    bool
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
func (r *nfRule) Where() string {
	if r.Backend == nfNative {
		return r.Family + " " + r.Table + " " + r.Chain
	}
	return r.Table + " " + r.Chain
}

// matchesUDPPort reports whether the rule matches UDP to port by a destination-port match (a rule
// without one is out of scope, as is one that matches only source ports).
func (r *nfRule) matchesUDPPort(port int) bool {
	return r.Protos != nil && len(r.DPorts) > 0 && r.admitsUDPPort(port)
}

// admitsUDPPort reports whether nothing in the rule's protocol and destination-port matches rules
// out UDP to port (a rule with neither admits it).
func (r *nfRule) admitsUDPPort(port int) bool {
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
		if !m.matches(port) {
			return false
		}
	}
	return true
}

// blocks reports whether the rule drops or rejects UDP to port by an explicit port match.
func (r *nfRule) blocks(port int) bool {
	return r.drops() && r.matchesUDPPort(port)
}

// drops reports whether the rule's verdict discards the packet: DROP, REJECT, or a chain's
// DROP policy.
func (r *nfRule) drops() bool { return r.Verdict == "DROP" || r.Verdict == "REJECT" }

// mayDropUDPPort reports whether the rule discards packets and nothing netcert reads of it rules
// out UDP to port: any shape (no port, an address or set match, an interface, a policy) may be
// what drops the overlay; the kernel's counters decide whether it does.
func (r *nfRule) mayDropUDPPort(port int) bool { return r.drops() && r.admitsUDPPort(port) }

// fromPods reports whether the rule matches only packets that come in on pods' interfaces
// (cali*, veth*, …): overlay packets between nodes come in on the node's own interface, so such a
// rule never sees them (Calico drops VXLAN sent from workloads this way).
func (r *nfRule) fromPods() bool {
	return r.InIface != "" && !r.InNeg && cniOwned(strings.TrimRight(r.InIface, "+*")+"0")
}

// allowList reports whether the rule accepts UDP to port from (or to) listed addresses only: a
// DROP after it in its chain drops what the list leaves out (Calico's VXLAN allow-list, a
// netcert repair).
func (r *nfRule) allowList(port int) bool {
	return r.Verdict == "ACCEPT" && r.matchesUDPPort(port) && (r.Src.restricts() || r.Dst.restricts())
}

// hasComment reports whether one of the rule's comments is c.
func (r *nfRule) hasComment(c string) bool {
	for _, x := range r.Comments {
		if x == c {
			return true
		}
	}
	return false
}

// nfChain is a chain with its rules in order.
type nfChain struct {
	Family, Table, Name string
	Hook                string // the base chain's hook; "" for a chain reached by jumps only
	Rules               []*nfRule
	// Policy is a base chain's policy (ACCEPT or DROP), with its packet counter where the view
	// prints one (iptables-save -c does, nft does not).
	Policy        string
	PolicyCounted bool
	PolicyPackets uint64
}

// withPolicy returns the chain's rules followed by its DROP policy, if it has one.
func (c *nfChain) withPolicy(backend nfBackend) []*nfRule {
	if p := c.policyRule(backend); p != nil {
		return append(c.Rules[:len(c.Rules):len(c.Rules)], p)
	}
	return c.Rules
}

// policyRule returns the chain's DROP policy as a rule after its last one, or nil when the chain
// has none: what no rule decides, the policy drops.
func (c *nfChain) policyRule(backend nfBackend) *nfRule {
	if c.Hook == "" || c.Policy != "DROP" {
		return nil
	}
	return &nfRule{Backend: backend, Family: c.Family, Table: c.Table, Chain: c.Name, Index: len(c.Rules) + 1,
		Text: "policy DROP", Counted: c.PolicyCounted, Packets: c.PolicyPackets, Verdict: "DROP", Policy: true}
}

// nfRuleset is one view of a node's netfilter rules.
type nfRuleset struct {
	Backend nfBackend
	Chains  []*nfChain
	byName  map[chainKey]*nfChain // Chains indexed; built on the first lookup
}

// chainKey names a chain within a view.
type chainKey struct{ family, table, name string }

// addChain appends c to the ruleset; a chain declared twice keeps its first declaration's rules.
func (rs *nfRuleset) addChain(c *nfChain) {
	rs.Chains = append(rs.Chains, c)
	if rs.byName != nil {
		rs.index(c)
	}
}

// keepChains keeps the chains for which keep is true.
func (rs *nfRuleset) keepChains(keep func(*nfChain) bool) {
	rs.Chains = slices.DeleteFunc(rs.Chains, func(c *nfChain) bool { return !keep(c) })
	rs.byName = nil
}

func (rs *nfRuleset) index(c *nfChain) {
	k := chainKey{c.Family, c.Table, c.Name}
	if _, dup := rs.byName[k]; !dup {
		rs.byName[k] = c
	}
}

// chain returns the chain named by family, table and name, or nil.
func (rs *nfRuleset) chain(family, table, name string) *nfChain {
	if rs.byName == nil {
		rs.byName = make(map[chainKey]*nfChain, len(rs.Chains))
		for _, c := range rs.Chains {
			rs.index(c)
		}
	}
	return rs.byName[chainKey{family, table, name}]
}

// eachJump calls f with each chain of c's table that r, a rule of c, jumps or goes to.
func (rs *nfRuleset) eachJump(c *nfChain, r *nfRule, f func(*nfChain)) {
	if r.Target != "" {
		if t := rs.chain(c.Family, c.Table, r.Target); t != nil {
			f(t)
		}
	}
	for _, name := range r.MapTargets {
		if t := rs.chain(c.Family, c.Table, name); t != nil {
			f(t)
		}
	}
}

// tables returns the "family table" names of the ruleset.
func (rs *nfRuleset) tables() map[string]bool {
	out := map[string]bool{}
	for _, c := range rs.Chains {
		out[c.Family+" "+c.Table] = true
	}
	return out
}

// xtHooks are the hooks of the iptables built-in chains.
var xtHooks = map[string]string{"PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward",
	"OUTPUT": "output", "POSTROUTING": "postrouting"}

// hookDirection tells whether packets at a hook are arriving at the node ("in": the peer is
// the source) or leaving it ("out": the peer is the destination).
func hookDirection(hook string) string {
	switch hook {
	case "output", "postrouting", "egress":
		return "out"
	}
	return "in"
}

// podOnlyChains returns the chains that packets reach only through jumps that match pods'
// interfaces (Calico's per-workload chains): rules there never see overlay traffic.
func (rs *nfRuleset) podOnlyChains() map[*nfChain]bool {
	open := map[*nfChain]bool{} // reached without a pod-interface match on the way
	var walk func(c *nfChain)
	walk = func(c *nfChain) {
		if open[c] {
			return
		}
		open[c] = true
		for _, r := range c.Rules {
			if !r.fromPods() {
				rs.eachJump(c, r, walk)
			}
		}
	}
	reached := map[*nfChain]bool{}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			rs.eachJump(c, r, func(t *nfChain) { reached[t] = true })
		}
	}
	for _, c := range rs.Chains {
		if c.Hook != "" || !reached[c] { // base chains, and chains nothing jumps to, count as open
			walk(c)
		}
	}
	out := map[*nfChain]bool{}
	for _, c := range rs.Chains {
		if !open[c] {
			out[c] = true
		}
	}
	return out
}

// chainHooks returns, for every chain, the hooks of the base chains that reach it through jumps
// and gotos within its table (none for a chain nothing reaches).
func (rs *nfRuleset) chainHooks() map[*nfChain]map[string]bool {
	out := map[*nfChain]map[string]bool{}
	var walk func(c *nfChain, hook string)
	walk = func(c *nfChain, hook string) {
		if out[c] == nil {
			out[c] = map[string]bool{}
		}
		if out[c][hook] {
			return
		}
		out[c][hook] = true
		for _, r := range c.Rules {
			rs.eachJump(c, r, func(t *nfChain) { walk(t, hook) })
		}
	}
	for _, c := range rs.Chains {
		if c.Hook != "" {
			walk(c, c.Hook)
		}
	}
	return out
}

// chainDirections returns, for every chain, the directions of the base chains that reach it
// through jumps and gotos within its table. A chain nothing reaches gets "in".
func (rs *nfRuleset) chainDirections() map[*nfChain]map[string]bool {
	out := map[*nfChain]map[string]bool{}
	hooks := rs.chainHooks()
	for _, c := range rs.Chains {
		out[c] = map[string]bool{}
		for h := range hooks[c] {
			out[c][hookDirection(h)] = true
		}
		if len(out[c]) == 0 {
			out[c]["in"] = true
		}
	}
	return out
}

// forwardOnly reports whether packets reach the chain only through the forward hook: it sees the
// traffic a node routes (pods' own packets), never the packets a node sends or receives itself,
// like the overlay's.
func forwardOnly(hooks map[string]bool) bool {
	return len(hooks) > 0 && !slices.ContainsFunc(slices.Collect(maps.Keys(hooks)), func(h string) bool { return h != "forward" })
}
