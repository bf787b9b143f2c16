package netfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseNft parses `nft -a list ruleset`: table → chain → rule with its `# handle N`, and
// the tables' named sets, which resolve `udp dport @name`. Maps, flowtables and stateful objects
// are skipped. What netcert cannot read of a rule (verdict maps, queues, values it cannot parse)
// is kept in the rule's Opaque; only input that nft does not print is an error, naming its line.
func ParseNft(text string) (*Ruleset, error) {
	p := nftParser{rs: &Ruleset{Backend: Native}}
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
	rs            *Ruleset
	family, table string              // the open table
	tableLine     int                 // the line it opens on
	sets          map[string]nftPorts // the open table's sets, read as port sets
	chain         *Chain              // the open chain
	set           string              // the open set
	skip          int                 // depth inside a block netcert does not read
}

// nftPorts are a named set's elements read as ports; ok is false when one is not a port.
type nftPorts struct {
	ranges []PortRange
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
		r.Backend, r.Family, r.Table, r.Chain = Native, p.family, p.table, p.chain.Name
		r.Handle, r.Index = handle, len(p.chain.Rules)+1
		p.chain.Rules = append(p.chain.Rules, r)
	case opens && len(words) == 3 && words[0] == "chain":
		p.chain = &Chain{Family: p.family, Table: p.table, Name: words[1]}
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
func (c *Chain) readProperties(words []string) {
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
