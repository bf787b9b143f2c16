package kubeproxynft

import "strings"

// braces counts the braces of a line outside quoted strings.
func braces(line string) (opens, closes int) {
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

func unquote(s string) string { return strings.Trim(s, `"`) }

// elements splits "{ a, b, c }" at its top-level commas.
func elements(body string) []string {
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

// verdictElement parses "10.96.0.10 . udp . 53 : goto service-…" (a comment may follow the
// key). The key is normalised to "IP . proto . port" with the protocol by name.
func verdictElement(e string) (Element, bool) {
	words := Words(e)
	colon := -1
	for i, w := range words {
		if w == ":" {
			colon = i
			break
		}
	}
	if colon < 0 || colon+2 >= len(words) || (words[colon+1] != "goto" && words[colon+1] != "jump") {
		return Element{}, false
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
		return Element{}, false
	}
	if p, ok := map[string]string{"6": "tcp", "17": "udp", "132": "sctp"}[key[1]]; ok {
		key[1] = p
	}
	return Element{Key: strings.Join(key, " . "), Target: words[colon+2], Text: e}, true
}

// Words splits a statement into words without its quoted strings; braces and commas are
// spaces, colons words of their own only where nft spaces them (" : ").
func Words(s string) []string {
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

// DNATMap reads "ip addr . port to numgen … map 0 : IP . PORT 1 : IP . PORT" (braces and
// commas already dropped) into "IP:PORT" targets.
func DNATMap(w []string) []string {
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
