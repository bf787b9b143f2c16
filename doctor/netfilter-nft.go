package doctor

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// parseNftRuleset parses `nft -a list ruleset`: table → chain → rule with its `# handle N`, and
// the tables' named sets, which resolve `udp dport @name`. Maps, flowtables and stateful objects
// are skipped. What netcert cannot read of a rule (verdict maps, queues, values it cannot parse)
// is kept in the rule's Opaque; only input that nft does not print is an error, naming its line.
func parseNftRuleset(text string) (*nfRuleset, error) {
	p := nftParser{rs: &nfRuleset{Backend: nfNative}}
	var stmt []string    // the words of a statement that goes on over lines (a set's elements)
	depth, first := 0, 0 // the braces stmt leaves open, and the line it starts on
	for i, raw := range strings.Split(text, "\n") {
		code, handle := cutNftHandle(strings.TrimSpace(raw))
		words := tokenizeNft(code)
		switch d := nftDepth(words); {
		case depth > 0:
			stmt, depth = append(stmt, words...), depth+d
			if depth > 0 {
				continue
			}
			words, code, stmt, depth = stmt, "", nil, 0
		case len(words) == 0:
			continue
		case d > 0 && p.chain == nil && !nftOpensBlock(words): // rules take one line each
			stmt, depth, first = words, d, i
			continue
		default:
			first = i
		}
		if err := p.statement(code, words, handle, first+1); err != nil {
			return nil, fmt.Errorf("nft ruleset line %d: %w", first+1, err)
		}
	}
	switch {
	case depth > 0:
		return nil, fmt.Errorf("nft ruleset line %d: braces not closed", first+1)
	case p.family != "":
		return nil, fmt.Errorf("nft ruleset line %d: table %s %s is not closed", p.tableLine, p.family, p.table)
	}
	return p.rs, nil
}

// nftDepth returns how many more braces words open than close.
func nftDepth(words []string) int {
	d := 0
	for _, w := range words {
		switch w {
		case "{":
			d++
		case "}":
			d--
		}
	}
	return d
}

// nftOpensBlock reports whether a statement opens a block (table, chain, set, map, …) rather
// than an assignment's braces (elements = {, devices = {).
func nftOpensBlock(words []string) bool {
	return len(words) > 1 && words[len(words)-1] == "{" && words[1] != "="
}

// nftParser follows the block structure of a ruleset listing.
type nftParser struct {
	rs            *nfRuleset
	family, table string              // the open table
	tableLine     int                 // the line it opens on
	sets          map[string]nftPorts // the open table's sets, read as port sets
	chain         *nfChain            // the open chain
	set           string              // the open set
	skip          int                 // depth inside a block netcert does not read
}

// nftPorts are a named set's elements read as ports; ok is false when one is not a port.
type nftPorts struct {
	ranges []portRange
	ok     bool
}

// statement reads one statement: text as printed (rules are one line) and its words.
func (p *nftParser) statement(text string, words []string, handle, line int) error {
	opens := words[len(words)-1] == "{"
	switch {
	case p.skip > 0:
		p.skip += nftDepth(words)
	case p.family == "":
		if len(words) != 4 || words[0] != "table" || !opens {
			return fmt.Errorf("expected a table, got %q", strings.Join(words, " "))
		}
		p.family, p.table, p.tableLine, p.sets = words[1], words[2], line, map[string]nftPorts{}
	case len(words) == 1 && words[0] == "}":
		switch {
		case p.chain != nil:
			p.chain = nil
		case p.set != "":
			p.set = ""
		default:
			p.family, p.table = "", ""
		}
	case p.set != "":
		if len(words) > 2 && words[0] == "elements" && words[1] == "=" {
			p.sets[p.set] = nftPortValues(nftElementKeys(words[2:]))
		}
	case p.chain != nil:
		if handle == 0 && nftChainProperty[words[0]] {
			p.chain.readProperties(words)
			return nil
		}
		r := parseNftRule(text, words, p.sets)
		r.Backend, r.Family, r.Table, r.Chain = nfNative, p.family, p.table, p.chain.Name
		r.Handle, r.Index = handle, len(p.chain.Rules)+1
		p.chain.Rules = append(p.chain.Rules, r)
	case opens && len(words) == 3 && words[0] == "chain":
		p.chain = &nfChain{Family: p.family, Table: p.table, Name: words[1]}
		p.rs.addChain(p.chain)
	case opens && len(words) == 3 && words[0] == "set":
		p.set = words[1]
		p.sets[p.set] = nftPorts{ok: true} // no elements yet
	case opens:
		p.skip = max(1, nftDepth(words))
	}
	return nil
}

// nftChainProperty are the first words of a chain's lines that are no rules (they have no
// handle): a base chain's type, hook, priority and policy, its devices, its comment.
var nftChainProperty = map[string]bool{"type": true, "policy": true, "devices": true, "comment": true, "flags": true}

// readProperties reads a base chain's hook and policy from its "type … hook H … policy P;" line.
func (c *nfChain) readProperties(words []string) {
	for i := 0; i+1 < len(words); i++ {
		switch words[i] {
		case "hook":
			c.Hook = words[i+1]
		case "policy":
			c.Policy = strings.ToUpper(words[i+1])
		}
	}
}

// cutNftHandle splits "… # handle N" into the statement and N (0 when there is none).
func cutNftHandle(line string) (string, int) {
	i := strings.LastIndex(line, "# handle ")
	if i < 0 {
		return line, 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[i+len("# handle "):]))
	if err != nil || n <= 0 {
		return line, 0
	}
	return strings.TrimSpace(line[:i]), n
}

// tokenizeNft splits a statement into words; "{", "}", "," and ";" are words of their own, a
// quoted string is one word, quotes kept, and a "#" outside quotes starts a comment that ends
// the statement. nft prints strings as they are, without escapes: braces and "#" inside quotes
// are text.
func tokenizeNft(s string) []string {
	out := make([]string, 0, strings.Count(s, " ")+2)
	start, inQuote := -1, false // where the current word starts
	flush := func(end int) {
		if start >= 0 {
			out = append(out, s[start:end])
			start = -1
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"':
			inQuote = !inQuote
			if start < 0 {
				start = i
			}
		case inQuote:
		case ch == '#':
			flush(i)
			return out
		case ch == ' ' || ch == '\t':
			flush(i)
		case ch == '{' || ch == '}' || ch == ',' || ch == ';':
			flush(i)
			out = append(out, s[i:i+1])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s))
	return out
}

// nftExpr reads the right-hand side of a match at toks[i]: an optional "!=" or "==", then a
// value, an anonymous set { a, b } or a named set @name. It returns the values, the set's name,
// whether it is negated, and the index of its last word. ok is false when what follows is no
// comparison (a concatenation "a . b", a map or verdict map lookup, a "set" statement): the
// selector is a key or is written.
func nftExpr(toks []string, i int) (values []string, set string, negate bool, last int, ok bool) {
	if i < len(toks) && (toks[i] == "!=" || toks[i] == "==") {
		negate = toks[i] == "!="
		i++
	}
	switch {
	case i >= len(toks):
		return nil, "", negate, i - 1, false
	case toks[i] == "." || toks[i] == "map" || toks[i] == "vmap" || toks[i] == "set":
		return nil, "", negate, i - 1, false
	case toks[i] == "{":
		for i++; i < len(toks) && toks[i] != "}"; i++ {
			if toks[i] != "," {
				values = append(values, toks[i])
			}
		}
		return values, "", negate, i, true
	case strings.HasPrefix(toks[i], "@"):
		return nil, toks[i][1:], negate, i, true
	}
	return []string{toks[i]}, "", negate, i, true
}

// nftElementKeys returns the keys of a set's elements "{ k [attributes], … }": an element's
// words after its key (comment "…", timeout 1h, counter …) are left out.
func nftElementKeys(words []string) []string {
	var keys []string
	key := true
	for _, w := range words {
		switch {
		case w == "{" || w == "}" || w == ",":
			key = true
		case key:
			keys, key = append(keys, w), false
		}
	}
	return keys
}

// nftPortValues parses ports and "lo-hi" ranges; ok is false when a value is neither.
func nftPortValues(values []string) nftPorts {
	out := nftPorts{ok: true}
	for _, v := range values {
		r, ok := parsePortRange(v, "-")
		out.ok = out.ok && ok
		if ok {
			out.ranges = append(out.ranges, r)
		}
	}
	return out
}

// nftJoin joins words as nft prints them: no space before "," and ";".
func nftJoin(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 && w != "," && w != ";" {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

// nftVerdicts are nft's verdict statements: what a rule, or a verdict map's element, does.
var nftVerdicts = map[string]bool{"accept": true, "drop": true, "reject": true, "return": true,
	"jump": true, "goto": true, "continue": true, "queue": true}

// parseNftRule reads a native rule: protocol (meta l4proto, ip protocol, or the header of a port
// match), destination ports (udp/tcp/th dport), source and destination addresses (ip saddr,
// ip daddr, with a netmask: ip saddr & 255.0.255.0 == 10.0.0.0), the input interface, the
// counter, comments, the verdict, and the chains a verdict map jumps or goes to.
func parseNftRule(text string, toks []string, sets map[string]nftPorts) *nfRule {
	r := &nfRule{Text: text}
	next := func(i int) string {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return ""
	}
	opaque := func(from, to int) {
		r.Opaque = append(r.Opaque, nftJoin(toks[from:min(to+1, len(toks))]))
	}
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; {
		case (t == "meta" && next(i) == "l4proto") || (t == "ip" && next(i) == "protocol"):
			if vals, _, neg, last, ok := nftExpr(toks, i+2); ok {
				r.Protos, r.ProtoNeg, i = vals, neg, last
			}
		case t == "ip" && (next(i) == "saddr" || next(i) == "daddr"):
			m, last, ok := nftAddrMatch(toks, i+2)
			switch {
			case !ok:
				opaque(i, last) // the match counts as any address
			case m != nil && next(i) == "saddr":
				r.Src = *m
			case m != nil:
				r.Dst = *m
			}
			i = last
		case (t == "udp" || t == "tcp" || t == "sctp" || t == "dccp" || t == "udplite" || t == "th") && next(i) == "dport":
			vals, set, neg, last, ok := nftExpr(toks, i+2)
			if !ok {
				continue // a key of a concatenation or map: no port match netcert reads
			}
			m := nftPortValues(vals)
			if set != "" {
				m = sets[set]
			}
			if m.ok {
				r.DPorts = append(r.DPorts, portMatch{Ranges: m.ranges, Negate: neg})
			} else {
				opaque(i, last) // the match counts as any port
			}
			if t != "th" {
				r.Protos, r.ProtoNeg = []string{t}, false
			}
			i = last
		case t == "iifname" && next(i) != "":
			vals, _, neg, last, ok := nftExpr(toks, i+1)
			if ok && len(vals) == 1 {
				r.InIface, r.InNeg = strings.Trim(vals[0], `"`), neg
			}
			i = last
		case t == "counter" && next(i) == "packets":
			if n, err := strconv.ParseUint(next(i+1), 10, 64); err == nil {
				r.Counted, r.Packets = true, n
			}
		case t == "comment" && next(i) != "":
			r.Comments = append(r.Comments, strings.Trim(next(i), `"`))
			i++
		case t == "vmap":
			i = r.readVerdictMap(toks, i)
		case t == "{": // a map's or a concatenation's set: nothing netcert reads
			for depth := 0; i < len(toks); i++ {
				if depth += nftDepth(toks[i : i+1]); depth == 0 {
					break
				}
			}
		case t == "accept" || t == "drop" || t == "reject" || t == "return":
			r.Verdict = strings.ToUpper(t)
		case (t == "jump" || t == "goto") && next(i) != "":
			r.Verdict, r.Target = strings.ToUpper(t), next(i)
			i++
		case t == "queue": // the verdict is userspace's
			last := i
			for last+1 < len(toks) && toks[last+1] != "comment" {
				last++
			}
			opaque(i, last)
			i = last
		}
	}
	return r
}

// nftAddrMatch reads an address match's right-hand side at toks[i]: addresses, prefixes, ranges
// (restricted, not listed), a named set, or "& MASK == ADDR". ok is false for what it cannot
// read; m is nil for no match (the selector is a key of a concatenation or map, or is set).
func nftAddrMatch(toks []string, i int) (m *addrMatch, last int, ok bool) {
	at := i
	masked := i+1 < len(toks) && toks[i] == "&"
	if masked {
		at += 2
	}
	vals, set, neg, last, isMatch := nftExpr(toks, at)
	if !isMatch || (masked && len(vals) == 0) {
		return nil, last, !masked
	}
	m = &addrMatch{Set: set, Negate: neg}
	for _, v := range vals {
		if masked {
			v += "/" + toks[i+1]
		}
		if m.add(v) == nil {
			continue
		}
		lo, hi, isRange := strings.Cut(v, "-")
		if _, err := netip.ParseAddr(lo); err != nil || !isRange || masked {
			return nil, last, false
		}
		if _, err := netip.ParseAddr(hi); err != nil {
			return nil, last, false
		}
		m.Set = v // a range: restricted, not listed
	}
	return m, last, true
}

// readVerdictMap reads "vmap { key : verdict, … }" or "vmap @name" at toks[i] and returns the
// index of its last word. The chains its elements jump or go to are the rule's MapTargets; a
// verdict map netcert cannot follow (a named one, or one that accepts, drops, rejects, returns or
// queues) is opaque.
func (r *nfRule) readVerdictMap(toks []string, i int) int {
	from := i
	if i+1 >= len(toks) || toks[i+1] != "{" {
		last := min(i+1, len(toks)-1)
		r.Opaque = append(r.Opaque, nftJoin(toks[from:last+1]))
		return last
	}
	follows := true
	for i += 2; i < len(toks) && toks[i] != "}"; i++ {
		switch {
		case (toks[i] == "jump" || toks[i] == "goto") && i+1 < len(toks):
			r.MapTargets = append(r.MapTargets, toks[i+1])
			i++
		case nftVerdicts[toks[i]]:
			follows = false
		}
	}
	if !follows {
		r.Opaque = append(r.Opaque, nftJoin(toks[from:min(i+1, len(toks))]))
	}
	return i
}
