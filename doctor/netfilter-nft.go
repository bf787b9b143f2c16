package doctor

import (
	"fmt"
	"strconv"
	"strings"
)

// parseNftRuleset parses `nft -a list ruleset`: table → chain → rule with its `# handle N`, and
// the tables' named sets, which resolve `udp dport @name`. Maps, flowtables and stateful objects
// are skipped; so are verdict maps (`udp dport vmap { … }`), which netcert does not evaluate.
func parseNftRuleset(text string) (*nfRuleset, error) {
	p := nftParser{rs: &nfRuleset{Backend: nfNative}}
	pending := ""
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if pending != "" {
			line, pending = pending+" "+line, ""
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		body, handle := cutNftHandle(line)
		if !strings.HasSuffix(body, "{") && strings.Count(body, "{") > strings.Count(body, "}") {
			pending = line // a set's elements, continued on the next line
			continue
		}
		if err := p.line(body, handle); err != nil {
			return nil, fmt.Errorf("nft ruleset line %d: %w", i+1, err)
		}
	}
	if p.family != "" || pending != "" {
		return nil, fmt.Errorf("nft ruleset: table %s %s is not closed", p.family, p.table)
	}
	return p.rs, nil
}

// nftParser follows the block structure of a ruleset listing.
type nftParser struct {
	rs            *nfRuleset
	family, table string                 // the open table
	sets          map[string][]portRange // the open table's port sets
	chain         *nfChain               // the open chain
	set           string                 // the open set
	skip          int                    // depth inside a block netcert does not read
}

func (p *nftParser) line(body string, handle int) error {
	words := strings.Fields(body)
	opens := strings.HasSuffix(body, "{")
	switch {
	case p.skip > 0:
		p.skip += strings.Count(body, "{") - strings.Count(body, "}")
	case p.family == "":
		if len(words) != 4 || words[0] != "table" || !opens {
			return fmt.Errorf("expected a table, got %q", body)
		}
		p.family, p.table, p.sets = words[1], words[2], map[string][]portRange{}
	case body == "}":
		switch {
		case p.chain != nil:
			p.chain = nil
		case p.set != "":
			p.set = ""
		default:
			p.family, p.table = "", ""
		}
	case p.set != "":
		if name, elems, ok := strings.Cut(body, "="); ok && strings.TrimSpace(name) == "elements" {
			p.sets[p.set] = nftPortValues(tokenizeNft(elems))
		}
	case p.chain != nil:
		if handle == 0 { // the base chain's type, hook, priority and policy; a comment
			for i, w := range words {
				if w == "hook" && i+1 < len(words) {
					p.chain.Hook = words[i+1]
				}
				if w == "policy" && i+1 < len(words) {
					p.chain.Policy = strings.ToUpper(strings.TrimSuffix(words[i+1], ";"))
				}
			}
			return nil
		}
		r := parseNftRule(body, p.sets)
		r.Backend, r.Family, r.Table, r.Chain = nfNative, p.family, p.table, p.chain.Name
		r.Handle, r.Index = handle, len(p.chain.Rules)+1
		p.chain.Rules = append(p.chain.Rules, r)
	case opens && len(words) == 3 && words[0] == "chain":
		p.chain = &nfChain{Family: p.family, Table: p.table, Name: words[1]}
		p.rs.Chains = append(p.rs.Chains, p.chain)
	case opens && len(words) == 3 && words[0] == "set":
		p.set = words[1]
	case opens:
		p.skip = 1
	}
	return nil
}

// cutNftHandle splits "… # handle N" into the statement and N (0 when there is none).
func cutNftHandle(line string) (string, int) {
	i := strings.LastIndex(line, "# handle ")
	if i < 0 {
		return line, 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[i+len("# handle "):]))
	if err != nil {
		return line, 0
	}
	return strings.TrimSpace(line[:i]), n
}

// tokenizeNft splits a statement into words; "{", "}", "," and ";" are words of their own and a
// quoted string is one word, quotes kept.
func tokenizeNft(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	inQuote := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"':
			inQuote = !inQuote
			cur.WriteByte(ch)
		case inQuote:
			cur.WriteByte(ch)
		case ch == ' ' || ch == '\t':
			flush()
		case ch == '{' || ch == '}' || ch == ',' || ch == ';':
			flush()
			out = append(out, string(ch))
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return out
}

// nftExpr reads the right-hand side of a match at toks[i]: an optional "!=" or "==", then a
// value, an anonymous set { a, b } or a named set @name. It returns the values, the set's name,
// whether it is negated, and the index of its last word.
func nftExpr(toks []string, i int) (values []string, set string, negate bool, last int) {
	if i < len(toks) && (toks[i] == "!=" || toks[i] == "==") {
		negate = toks[i] == "!="
		i++
	}
	switch {
	case i >= len(toks):
		return nil, "", negate, i - 1
	case toks[i] == "{":
		for i++; i < len(toks) && toks[i] != "}"; i++ {
			if toks[i] != "," {
				values = append(values, toks[i])
			}
		}
		return values, "", negate, i
	case strings.HasPrefix(toks[i], "@"):
		return nil, toks[i][1:], negate, i
	}
	return []string{toks[i]}, "", negate, i
}

// nftPortValues parses ports and "lo-hi" ranges; words that are not ports are left out.
func nftPortValues(toks []string) []portRange {
	var out []portRange
	for _, t := range toks {
		if t == "{" || t == "}" || t == "," {
			continue
		}
		if r, err := parsePortList(t, "-"); err == nil {
			out = append(out, r...)
		}
	}
	return out
}

// parseNftRule reads a native rule: protocol (meta l4proto, ip protocol, or the header of a port
// match), destination ports (udp/tcp/th dport), source and destination addresses (ip saddr,
// ip daddr), the counter, comments and the verdict.
func parseNftRule(body string, sets map[string][]portRange) *nfRule {
	r := &nfRule{Text: body}
	toks := tokenizeNft(body)
	next := func(i int) string {
		if i+1 < len(toks) {
			return toks[i+1]
		}
		return ""
	}
	for i := 0; i < len(toks); i++ {
		switch t := toks[i]; {
		case (t == "meta" && next(i) == "l4proto") || (t == "ip" && next(i) == "protocol"):
			vals, _, neg, last := nftExpr(toks, i+2)
			r.Protos, r.ProtoNeg, i = vals, neg, last
		case t == "ip" && (next(i) == "saddr" || next(i) == "daddr"):
			vals, set, neg, last := nftExpr(toks, i+2)
			m := addrMatch{Set: set, Negate: neg}
			for _, v := range vals {
				if p, err := parsePrefixOrAddr(v); err == nil {
					m.Prefixes = append(m.Prefixes, p)
				} else {
					m.Set = v // a range: restricted, not listed
				}
			}
			if next(i) == "saddr" {
				r.Src = m
			} else {
				r.Dst = m
			}
			i = last
		case (t == "udp" || t == "tcp" || t == "sctp" || t == "dccp" || t == "udplite" || t == "th") && next(i) == "dport":
			vals, set, neg, last := nftExpr(toks, i+2)
			m := portMatch{Ranges: nftPortValues(vals), Negate: neg}
			if set != "" {
				m.Ranges = sets[set]
			}
			r.DPorts = append(r.DPorts, m)
			if t != "th" {
				r.Protos, r.ProtoNeg = []string{t}, false
			}
			i = last
		case t == "iifname" && next(i) != "":
			vals, _, neg, last := nftExpr(toks, i+1)
			if len(vals) == 1 {
				r.InIface, r.InNeg = strings.Trim(vals[0], `"`), neg
			}
			i = last
		case t == "counter" && next(i) == "packets":
			if n, err := strconv.ParseUint(toks[min(i+2, len(toks)-1)], 10, 64); err == nil {
				r.Counted, r.Packets = true, n
			}
		case t == "comment" && next(i) != "":
			r.Comments = append(r.Comments, strings.Trim(next(i), `"`))
			i++
		case t == "accept" || t == "drop" || t == "reject" || t == "return":
			r.Verdict = strings.ToUpper(t)
		case (t == "jump" || t == "goto") && next(i) != "":
			r.Verdict, r.Target = strings.ToUpper(t), next(i)
			i++
		}
	}
	return r
}
