package doctor

import (
	"fmt"
	"strings"
)

// kpNftTable is what the check reads of `nft list table ip kube-proxy`: the elements of the
// service-ips map (ClusterIP . protocol . port : goto chain) and every chain's statements.
type kpNftTable struct {
	serviceIPs map[string]kpNftElement // by "10.96.0.10 . udp . 53"
	chains     map[string][]string
}

// kpNftElement is one element of a verdict map.
type kpNftElement struct {
	Key, Target, Text string
}

// parseKubeProxyNft parses a listing of kube-proxy's nftables table. Blocks other than chains and
// the service-ips map are skipped, as are chains' type, policy and comment lines; a statement
// netcert does not understand is kept as text. Only an unbalanced listing is an error.
func parseKubeProxyNft(text string) (*kpNftTable, error) {
	t := &kpNftTable{serviceIPs: map[string]kpNftElement{}, chains: map[string][]string{}}
	depth := 0
	kind, name := "", "" // the open block at depth 2
	// A statement over several lines (a map's elements) is collected until its braces balance,
	// then read once: joining it line by line would be quadratic in its length.
	var pending []string
	balance := 0
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if len(pending) > 0 {
			pending = append(pending, line)
			opens, closes := nftBraces(line)
			if balance += opens - closes; balance > 0 {
				continue
			}
			line, pending = strings.Join(pending, " "), nil
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		opens, closes := nftBraces(line)
		switch {
		case depth == 0:
			if !strings.HasPrefix(line, "table ") || opens != 1 {
				return nil, fmt.Errorf("nft listing line %d: expected a table, got %q", i+1, line)
			}
			depth = 1
		case line == "}":
			depth--
			kind, name = "", ""
		case depth == 1 && opens == 1 && closes == 0 && strings.HasSuffix(line, "{"):
			f := strings.Fields(line)
			kind, name = f[0], ""
			if len(f) == 3 {
				name = nftUnquote(f[1])
			}
			if kind == "chain" {
				t.chains[name] = []string{}
			}
			depth = 2
		case depth == 1:
			// a table comment or flags
		case opens > closes:
			pending, balance = []string{line}, opens-closes // a map's elements, continued on the next lines
		case kind == "map" && name == "service-ips" && strings.HasPrefix(line, "elements"):
			_, body, _ := strings.Cut(line, "=")
			for _, e := range nftElements(body) {
				if el, ok := nftVerdictElement(e); ok {
					t.serviceIPs[el.Key] = el
				}
			}
		case kind == "chain":
			if w := strings.Fields(line)[0]; w == "type" || w == "policy" || w == "comment" {
				continue
			}
			t.chains[name] = append(t.chains[name], line)
		}
	}
	if depth != 0 || len(pending) > 0 {
		return nil, fmt.Errorf("nft listing: a block is not closed")
	}
	return t, nil
}

// nftBraces counts the braces of a line outside quoted strings.
func nftBraces(line string) (opens, closes int) {
	in := false
	for _, ch := range line {
		switch {
		case ch == '"':
			in = !in
		case in:
		case ch == '{':
			opens++
		case ch == '}':
			closes++
		}
	}
	return opens, closes
}

func nftUnquote(s string) string { return strings.Trim(s, `"`) }

// nftElements splits "{ a, b, c }" at its top-level commas.
func nftElements(body string) []string {
	body = strings.TrimSpace(body)
	body = strings.TrimSuffix(strings.TrimPrefix(body, "{"), "}")
	var out []string
	in, depth, start := false, 0, 0
	for i, ch := range body {
		switch {
		case ch == '"':
			in = !in
		case in:
		case ch == '{':
			depth++
		case ch == '}':
			depth--
		case ch == ',' && depth == 0:
			out = append(out, strings.TrimSpace(body[start:i]))
			start = i + 1
		}
	}
	if s := strings.TrimSpace(body[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// nftVerdictElement parses "10.96.0.10 . udp . 53 : goto service-…" (a comment may follow the
// key). The key is normalised to "IP . proto . port" with the protocol by name.
func nftVerdictElement(e string) (kpNftElement, bool) {
	words := nftWords(e)
	colon := -1
	for i, w := range words {
		if w == ":" {
			colon = i
			break
		}
	}
	if colon < 0 || colon+2 >= len(words) || (words[colon+1] != "goto" && words[colon+1] != "jump") {
		return kpNftElement{}, false
	}
	var key []string
	for _, w := range words[:colon] {
		if w == "comment" {
			break
		}
		if w != "." {
			key = append(key, w)
		}
	}
	if len(key) != 3 {
		return kpNftElement{}, false
	}
	if p, ok := map[string]string{"6": "tcp", "17": "udp", "132": "sctp"}[key[1]]; ok {
		key[1] = p
	}
	return kpNftElement{Key: strings.Join(key, " . "), Target: words[colon+2], Text: e}, true
}

// nftWords splits a statement into words without its quoted strings; braces and commas are
// spaces, colons words of their own only where nft spaces them (" : ").
func nftWords(s string) []string {
	var b strings.Builder
	in := false
	for _, ch := range s {
		switch {
		case ch == '"':
			in = !in
			b.WriteByte(' ')
		case in:
		case ch == '{' || ch == '}' || ch == ',':
			b.WriteByte(' ')
		default:
			b.WriteRune(ch)
		}
	}
	return strings.Fields(b.String())
}

// lookup finds the port's service-ips element and follows its chain (service-… or local-…)
// through the endpoint chains to their DNATs: `dnat to IP:PORT`, or kube-proxy 1.36's
// `dnat ip addr . port to numgen random mod N map { 0 : IP . PORT, … }`.
func (t *kpNftTable) lookup(sp kpServicePort) kpProgram {
	var prog kpProgram
	el, ok := t.serviceIPs[fmt.Sprintf("%s . %s . %d", sp.IP, sp.Proto, sp.Port)]
	if !ok {
		prefix := sp.IP.String() + " . "
		for k, e := range t.serviceIPs {
			if strings.HasPrefix(k, prefix) {
				prog.Lines = append(prog.Lines, "service-ips: "+e.Text) // the ClusterIP's other ports
			}
		}
		return prog
	}
	prog.Found, prog.Chain = true, el.Target
	prog.Lines = append(prog.Lines, "service-ips: "+el.Text)
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		rules, ok := t.chains[name]
		switch {
		case !ok:
			prog.Lines = append(prog.Lines, "(no chain "+name+")")
			return
		case len(rules) == 0:
			prog.Lines = append(prog.Lines, "chain "+name+" { } (empty)")
		}
		for _, r := range rules {
			prog.Lines = append(prog.Lines, name+": "+r)
			w := nftWords(r)
			for i := 0; i < len(w); i++ {
				switch {
				case (w[i] == "goto" || w[i] == "jump") && i+1 < len(w) && w[i+1] != "mark-for-masquerade":
					walk(w[i+1])
				case w[i] == "dnat" && i+2 < len(w) && w[i+1] == "to":
					prog.Endpoints = append(prog.Endpoints, w[i+2])
				case w[i] == "dnat":
					prog.Endpoints = append(prog.Endpoints, nftDNATMap(w[i+1:])...)
				}
			}
		}
	}
	walk(el.Target)
	return prog
}

// nftDNATMap reads "ip addr . port to numgen … map 0 : IP . PORT 1 : IP . PORT" (braces and
// commas already dropped) into "IP:PORT" targets.
func nftDNATMap(w []string) []string {
	start := -1
	for i, x := range w {
		if x == "map" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil
	}
	var out []string
	for i := start; i+3 < len(w); i++ {
		if w[i] == ":" && w[i+2] == "." {
			out = append(out, w[i+1]+":"+w[i+3])
			i += 3
		}
	}
	return out
}
