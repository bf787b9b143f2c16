package netfilter

import "slices"

// Chain is a chain with its rules in order.
type Chain struct {
	Family, Table, Name string
	Hook                string // the base chain's hook; "" for a chain reached by jumps only
	Rules               []*Rule
	// Policy is a base chain's policy (ACCEPT or DROP), with its packet counter where the view
	// prints one (iptables-save -c does, nft does not).
	Policy        string
	PolicyCounted bool
	PolicyPackets uint64
}

// WithPolicy returns the chain's rules followed by its DROP policy, if it has one.
func (c *Chain) WithPolicy(backend Backend) []*Rule {
	if p := c.policyRule(backend); p != nil {
		return append(c.Rules[:len(c.Rules):len(c.Rules)], p)
	}
	return c.Rules
}

// policyRule returns the chain's DROP policy as a rule after its last one, or nil when the chain
// has none: what no rule decides, the policy drops.
func (c *Chain) policyRule(backend Backend) *Rule {
	if c.Hook == "" || c.Policy != "DROP" {
		return nil
	}
	return &Rule{Backend: backend, Family: c.Family, Table: c.Table, Chain: c.Name, Index: len(c.Rules) + 1,
		Text: "policy DROP", Counted: c.PolicyCounted, Packets: c.PolicyPackets, Verdict: "DROP", Policy: true}
}

// Ruleset is one view of a node's netfilter rules.
type Ruleset struct {
	Backend Backend
	Chains  []*Chain
	byName  map[chainKey]*Chain // Chains indexed; built on the first lookup
}

// chainKey names a chain within a view.
type chainKey struct{ family, table, name string }

// addChain appends c to the ruleset; a chain declared twice keeps its first declaration's rules.
func (rs *Ruleset) addChain(c *Chain) {
	rs.Chains = append(rs.Chains, c)
	if rs.byName != nil {
		rs.index(c)
	}
}

// KeepChains keeps the chains for which keep is true.
func (rs *Ruleset) KeepChains(keep func(*Chain) bool) {
	rs.Chains = slices.DeleteFunc(rs.Chains, func(c *Chain) bool { return !keep(c) })
	rs.byName = nil
}

func (rs *Ruleset) index(c *Chain) {
	k := chainKey{c.Family, c.Table, c.Name}
	if _, dup := rs.byName[k]; !dup {
		rs.byName[k] = c
	}
}

// Chain returns the chain named by family, table and name, or nil.
func (rs *Ruleset) Chain(family, table, name string) *Chain {
	if rs.byName == nil {
		rs.byName = make(map[chainKey]*Chain, len(rs.Chains))
		for _, c := range rs.Chains {
			rs.index(c)
		}
	}
	return rs.byName[chainKey{family, table, name}]
}

// EachJump calls f with each chain of c's table that r, a rule of c, jumps or goes to.
func (rs *Ruleset) EachJump(c *Chain, r *Rule, f func(*Chain)) {
	if r.Target != "" {
		if t := rs.Chain(c.Family, c.Table, r.Target); t != nil {
			f(t)
		}
	}
	for _, name := range r.MapTargets {
		if t := rs.Chain(c.Family, c.Table, name); t != nil {
			f(t)
		}
	}
}

// Tables returns the "family table" names of the ruleset.
func (rs *Ruleset) Tables() map[string]bool {
	out := map[string]bool{}
	for _, c := range rs.Chains {
		out[c.Family+" "+c.Table] = true
	}
	return out
}
