package doctor

import (
	"fmt"
	"net"
	"strings"

	"github.com/coredns/caddy/caddyfile"
)

// Corefile is a CoreDNS configuration, parsed with the caddyfile package CoreDNS itself uses.
type Corefile struct {
	Source   string
	Forwards []Forward // every forward directive, in server-block order
	// Imports are the `import` directives of files netcert cannot read (they live in the CoreDNS
	// pod): forwards in them are not seen. Snippet imports are resolved.
	Imports []Import
}

// Import is an `import FILE` directive.
type Import struct {
	Line    int
	Pattern string
}

// Forward is one `forward FROM TO... [{ options }]` directive.
type Forward struct {
	Keys    []string // the server block's keys, e.g. ".:53"
	From    string
	Targets []ForwardTarget
	Options []string // the block's option lines, tokens joined by one space
	Line    int      // the line of the forward keyword (FROM and every TO are on it)
	EndLine int      // the line of its last token
}

// ForwardTarget is one TO of a forward directive, read the way CoreDNS reads it.
type ForwardTarget struct {
	Raw       string // as written, e.g. "dns://10.96.0.10", "10.96.0.10:5353", "/etc/resolv.conf"
	Transport string // "dns", "tls", …
	Address   string // IP:port (port 53 for dns, 853 for tls, by default); empty for a file
	// File is a resolv.conf-style file whose nameservers CoreDNS uses: in the CoreDNS pod, whose
	// DNS policy is Default, /etc/resolv.conf holds the node's resolvers.
	File string
}

// Probeable reports whether netcert can send the target a plain DNS query.
func (t ForwardTarget) Probeable() bool { return t.Transport == "dns" && t.Address != "" }

// String names the target as findings show it: its address, or the file it stands for.
func (t ForwardTarget) String() string {
	switch {
	case t.File != "":
		return t.File
	case t.Transport != "dns" && t.Address != "":
		return t.Transport + "://" + t.Address
	case t.Address != "":
		return t.Address
	}
	return t.Raw
}

// importPlaceholder replaces the keyword of a file import before parsing, so that the parser,
// which would read the file from this machine, sees an ordinary directive instead.
const importPlaceholder = "netcert-unresolved-import"

// ParseCorefile parses src as CoreDNS does. A malformed Corefile gives an error naming the line.
func ParseCorefile(src string) (*Corefile, error) {
	cf := &Corefile{Source: src}
	neutral, imports := neutralizeImports(src)
	cf.Imports = imports
	blocks, err := caddyfile.Parse("Corefile", strings.NewReader(neutral), nil)
	if err != nil {
		if hint := unclosedBrace(neutral); hint != "" {
			return nil, fmt.Errorf("parse Corefile: %w (%s)", err, hint)
		}
		return nil, fmt.Errorf("parse Corefile: %w", err)
	}
	seen := map[int]bool{} // a snippet imported twice yields its forward twice
	for _, b := range blocks {
		for _, tokens := range splitDirectives(b.Tokens["forward"], "forward") {
			f, err := parseForward(b.Keys, tokens)
			if err != nil {
				return nil, err
			}
			if !seen[f.Line] {
				seen[f.Line] = true
				cf.Forwards = append(cf.Forwards, f)
			}
		}
	}
	return cf, nil
}

// splitDirectives splits the tokens the parser grouped under one directive name into one slice per
// occurrence: each starts with the name, outside any braces.
func splitDirectives(tokens []caddyfile.Token, name string) [][]caddyfile.Token {
	var out [][]caddyfile.Token
	depth := 0
	for _, t := range tokens {
		switch {
		case t.Text == name && depth == 0:
			out = append(out, []caddyfile.Token{t})
			continue
		case t.Text == "{":
			depth++
		case t.Text == "}":
			depth--
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], t)
		}
	}
	return out
}

// parseForward reads one forward directive's tokens (the keyword first).
func parseForward(keys []string, tokens []caddyfile.Token) (Forward, error) {
	kw := tokens[0]
	f := Forward{Keys: keys, Line: kw.Line, EndLine: tokens[len(tokens)-1].Line}
	i := 1
	var args []string
	for ; i < len(tokens) && tokens[i].Line == kw.Line && tokens[i].Text != "{"; i++ {
		args = append(args, tokens[i].Text)
	}
	if len(args) < 2 {
		return f, fmt.Errorf("parse Corefile: line %d: forward needs FROM and at least one TO", kw.Line)
	}
	f.From = args[0]
	for _, raw := range args[1:] {
		t, err := parseTarget(raw)
		if err != nil {
			return f, fmt.Errorf("parse Corefile: line %d: %w", kw.Line, err)
		}
		f.Targets = append(f.Targets, t)
	}
	// Options: one per line inside the block.
	line, depth := 0, 0
	for ; i < len(tokens); i++ {
		t := tokens[i]
		switch t.Text {
		case "{":
			depth++
			continue
		case "}":
			depth--
			continue
		}
		if depth == 0 {
			continue
		}
		if t.Line != line || len(f.Options) == 0 {
			f.Options = append(f.Options, t.Text)
			line = t.Line
		} else {
			f.Options[len(f.Options)-1] += " " + t.Text
		}
	}
	return f, nil
}

// parseTarget reads a TO as CoreDNS's forward does (parse.HostPortOrFile, then only the dns and tls
// transports): [scheme://]IP[:port], or else the path of a resolv.conf-style file.
func parseTarget(raw string) (ForwardTarget, error) {
	t := ForwardTarget{Raw: raw, Transport: "dns"}
	host := raw
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		t.Transport, host = scheme, rest
	}
	port, ok := map[string]string{"dns": "53", "tls": "853"}[t.Transport]
	switch {
	case !ok:
		return t, fmt.Errorf("forward target %q: forward supports only the dns and tls transports", raw)
	case host == "":
		return t, fmt.Errorf("invalid forward target %q", raw)
	}
	if h, p, err := net.SplitHostPort(host); err == nil && net.ParseIP(stripZone(h)) != nil {
		t.Address = net.JoinHostPort(h, p)
	} else if net.ParseIP(stripZone(host)) != nil {
		t.Address = net.JoinHostPort(host, port)
	} else if t.Transport == "dns" {
		t.File = host
	} else {
		return t, fmt.Errorf("forward target %q is not an IP address", raw)
	}
	return t, nil
}

func stripZone(host string) string {
	if i := strings.LastIndex(host, "%"); i >= 0 {
		return host[:i]
	}
	return host
}

// Excerpt returns the lines of f, each prefixed with its number, for evidence.
func (c *Corefile) Excerpt(f Forward) string {
	lines := strings.Split(c.Source, "\n")
	var out []string
	for n := f.Line; n <= f.EndLine && n <= len(lines); n++ {
		out = append(out, fmt.Sprintf("%d: %s", n, lines[n-1]))
	}
	return strings.Join(out, "\n")
}

// ReplaceTargets returns the Corefile with the TOs of f (one of c.Forwards) replaced by targets;
// every other byte stays as it was. The result is parsed again to prove the edit.
func (c *Corefile) ReplaceTargets(f Forward, targets []string) (string, error) {
	if len(targets) == 0 {
		return "", fmt.Errorf("line %d: a forward needs at least one target", f.Line)
	}
	lines := strings.SplitAfter(c.Source, "\n")
	if f.Line < 1 || f.Line > len(lines) {
		return "", fmt.Errorf("line %d is not in the Corefile", f.Line)
	}
	line := lines[f.Line-1]
	want := []string{"forward", f.From}
	for _, t := range f.Targets {
		want = append(want, t.Raw)
	}
	spans := lexLine(line)
	start := -1
	for i := 0; i+len(want) <= len(spans) && start < 0; i++ {
		match := true
		for j, w := range want {
			match = match && spans[i+j].text == w
		}
		if match {
			start = i
		}
	}
	if start < 0 {
		return "", fmt.Errorf("line %d: cannot find %q in %q", f.Line, strings.Join(want, " "), strings.TrimSpace(line))
	}
	from, to := spans[start+2].start, spans[start+len(want)-1].end
	lines[f.Line-1] = line[:from] + strings.Join(targets, " ") + line[to:]
	out := strings.Join(lines, "")

	check, err := ParseCorefile(out)
	if err != nil {
		return "", fmt.Errorf("the edited Corefile does not parse: %w", err)
	}
	for _, g := range check.Forwards {
		if g.Line != f.Line {
			continue
		}
		var got []string
		for _, t := range g.Targets {
			got = append(got, t.Raw)
		}
		if strings.Join(got, " ") != strings.Join(targets, " ") {
			return "", fmt.Errorf("line %d: the edit gave targets %v, not %v", f.Line, got, targets)
		}
		return out, nil
	}
	return "", fmt.Errorf("line %d: no forward after the edit", f.Line)
}

// span is one token of a source line as the caddyfile lexer reads it: text without quotes, and
// its byte range in the line, quotes included.
type span struct {
	text       string
	start, end int
}

// lexLine splits one line into tokens like the caddyfile lexer (whitespace separates, a token that
// starts with " runs to the next unescaped ", # starts a comment). It only locates tokens the
// parser already found; a quote left open at the end of the line ends the last token there.
func lexLine(line string) []span {
	var out []span
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case c == '#':
			return out
		}
		s := span{start: i}
		if c == '"' {
			var b strings.Builder
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && line[i+1] == '"' {
					i++
				}
				b.WriteByte(line[i])
			}
			s.text, s.end = b.String(), min(i+1, len(line))
			i = s.end
		} else {
			for i < len(line) && !strings.ContainsRune(" \t\r\n#", rune(line[i])) {
				i++
			}
			s.text, s.end = line[s.start:i], i
		}
		out = append(out, s)
	}
	return out
}

// neutralizeImports renames the keyword of each `import FILE` line (not of snippet imports) so
// that parsing never reads this machine's files, and returns those imports. Lines keep their
// numbers.
func neutralizeImports(src string) (string, []Import) {
	lines := strings.SplitAfter(src, "\n")
	snippets := map[string]bool{}
	var imports []Import
	for n, line := range lines {
		spans := lexLine(line)
		for i := len(spans) - 1; i >= 0; i-- { // backwards: edits keep earlier offsets valid
			s := spans[i]
			if i > 0 && spans[i-1].text != "{" { // directives start a line or follow `.:53 {`
				continue
			}
			if i == 0 && len(s.text) > 2 && strings.HasPrefix(s.text, "(") && strings.HasSuffix(s.text, ")") {
				snippets[s.text[1:len(s.text)-1]] = true
			}
			if s.text == "import" && i+1 < len(spans) && !snippets[spans[i+1].text] {
				imports = append(imports, Import{Line: n + 1, Pattern: spans[i+1].text})
				lines[n] = lines[n][:s.start] + importPlaceholder + lines[n][s.end:]
			}
		}
	}
	return strings.Join(lines, ""), imports
}

// unclosedBrace names the line of a '{' that is never closed, to clarify a parse error.
func unclosedBrace(src string) string {
	var open []int
	for n, line := range strings.Split(src, "\n") {
		for _, s := range lexLine(line) {
			switch s.text {
			case "{":
				open = append(open, n+1)
			case "}":
				if len(open) == 0 {
					return fmt.Sprintf("the '}' on line %d closes nothing", n+1)
				}
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) > 0 {
		return fmt.Sprintf("the '{' on line %d is never closed", open[len(open)-1])
	}
	return ""
}
