package netfilter

import (
	"maps"
	"slices"
)

// hookDirection tells whether packets at a hook are arriving at the node ("in": the peer is
// the source) or leaving it ("out": the peer is the destination).
func hookDirection(hook string) string {
	switch hook {
	case "output", "postrouting", "egress":
		return "out"
	}
	return "in"
}

// ChainHooks returns, for every chain, the hooks of the base chains that reach it through jumps
// and gotos within its table (none for a chain nothing reaches).
func (rs *Ruleset) ChainHooks() map[*Chain]map[string]bool {
	out := map[*Chain]map[string]bool{}
	var walk func(c *Chain, hook string)
	walk = func(c *Chain, hook string) {
		if out[c] == nil {
			out[c] = map[string]bool{}
		}
		if out[c][hook] {
			return
		}
		out[c][hook] = true
		for _, r := range c.Rules {
			rs.EachJump(c, r, func(t *Chain) { walk(t, hook) })
		}
	}
	for _, c := range rs.Chains {
		if c.Hook != "" {
			walk(c, c.Hook)
		}
	}
	return out
}

// ChainDirections returns, for every chain, the directions of the base chains that reach it
// through jumps and gotos within its table. A chain nothing reaches gets "in".
func (rs *Ruleset) ChainDirections() map[*Chain]map[string]bool {
	out := map[*Chain]map[string]bool{}
	hooks := rs.ChainHooks()
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

// ForwardOnly reports whether packets reach the chain only through the forward hook: it sees the
// traffic a node routes (pods' own packets), never the packets a node sends or receives itself,
// like the overlay's.
func ForwardOnly(hooks map[string]bool) bool {
	return len(hooks) > 0 && !slices.ContainsFunc(slices.Collect(maps.Keys(hooks)), func(h string) bool { return h != "forward" })
}
