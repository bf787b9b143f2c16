package doctor

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Corefile is a CoreDNS configuration, read as CoreDNS reads it but hermetically: nothing of this
// machine takes part. Environment placeholders ({$VAR}, {%VAR%}) stay as written, since CoreDNS
// fills them in from its own pod's environment, and an `import` of a file is recorded, never read.
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
	Transport string // "dns", "tls", …; empty for an environment placeholder
	Address   string // IP:port (port 53 for dns, 853 for tls, by default); empty for a file
	// File is a resolv.conf-style file whose nameservers CoreDNS uses: in the CoreDNS pod, whose
	// DNS policy is Default, /etc/resolv.conf holds the node's resolvers.
	File string
	// EnvPlaceholder: Raw holds an environment placeholder ({$VAR} or {%VAR%}) that CoreDNS fills
	// in from its pod's environment, which netcert can neither read nor probe.
	EnvPlaceholder bool
}

// Probeable reports whether netcert can send the target a plain DNS query.
func (t ForwardTarget) Probeable() bool { return t.Transport == "dns" && t.Address != "" }

// String names the target as findings show it: its address, or the file it stands for, or else
// the target as written.
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

// ParseCorefile parses src as CoreDNS does, without its environment or files. A malformed Corefile
// gives an error naming the line, worded as CoreDNS words it. The work is linear in len(src): each
// snippet is read once, however often it is imported.
func ParseCorefile(src string) (*Corefile, error) {
	p := &parser{cf: &Corefile{Source: src}, snippets: map[string]*snippet{}, recorded: map[Import]bool{}}
	if err := p.serverBlocks(lex(src)); err != nil {
		return nil, err
	}
	return p.cf, nil
}

// token is one word of a Corefile.
type token struct {
	text       string
	quoted     bool // written in double quotes: never a brace
	line       int  // the line it starts on
	endLine    int  // the line it ends on: a quoted token may hold line breaks
	start, end int  // its bytes in the source, quotes included
}

// is reports whether t is the brace b ("{" or "}").
func (t token) is(b string) bool { return !t.quoted && t.text == b }

// lex splits src into tokens as CoreDNS's lexer does: whitespace separates them; a token that
// starts with `"` runs to the next unescaped `"` (`\"` is the only escape) and may span lines; a
// `#` that starts a word comments out the rest of the line, one within a word the rest of the
// word. Nothing is expanded.
func lex(src string) []token {
	var tokens []token
	line, i := 1, 0
	if strings.HasPrefix(src, "\uFEFF") {
		i = len("\uFEFF")
	}
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == '\n':
			line++
			i++
		case unicode.IsSpace(r):
			i += size
		case r == '#':
			if n := strings.IndexByte(src[i:], '\n'); n >= 0 {
				i += n
			} else {
				i = len(src)
			}
		case r == '"':
			t := token{quoted: true, line: line, start: i}
			var text strings.Builder
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					if src[i+1] != '"' {
						text.WriteByte('\\')
					}
					i++
				}
				if src[i] == '\n' {
					line++
				}
				text.WriteByte(src[i])
			}
			closed := i < len(src)
			if closed {
				i++
			}
			t.text, t.endLine, t.end = text.String(), line, i
			if closed || t.text != "" { // a quote left open at the end yields what it holds
				tokens = append(tokens, t)
			}
		default:
			t := token{line: line, endLine: line, start: i}
			i = wordEnd(src, i, false)
			t.text, t.end = src[t.start:i], i
			tokens = append(tokens, t)
			i = wordEnd(src, i, true) // a '#' within a word drops the rest of the word
		}
	}
	return tokens
}

// wordEnd returns where the word at src[i:] ends: at whitespace, or also at '#' unless withHash.
func wordEnd(src string, i int, withHash bool) int {
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if unicode.IsSpace(r) || r == '#' && !withHash {
			return i
		}
		i += size
	}
	return i
}

// newLine reports whether tokens[i] starts a line: no token before it ends on its line.
func newLine(tokens []token, i int) bool { return i == 0 || tokens[i-1].endLine < tokens[i].line }

// Kinds of parse error, as CoreDNS names them.
const (
	syntaxError  = "Syntax error"         // another token was expected
	parsingError = "Error during parsing" // the rest
)

// errorAt is a parse error at line, of kind.
func errorAt(line int, kind, format string, args ...any) error {
	return fmt.Errorf("parse Corefile: Corefile:%d - %s: %s", line, kind, fmt.Sprintf(format, args...))
}

// unclosed is the error for the '{' on line open that tokens never close.
func unclosed(tokens []token, open int) error {
	return errorAt(tokens[len(tokens)-1].endLine, syntaxError, "Unexpected EOF, expecting '}' (the '{' on line %d is never closed)", open)
}

// matchingBrace returns the index of the '}' that closes the '{' at tokens[open].
func matchingBrace(tokens []token, open int) (int, error) {
	var opened []int // the lines of the braces not closed yet, innermost last
	for i := open; i < len(tokens); i++ {
		switch {
		case tokens[i].is("{"):
			opened = append(opened, tokens[i].line)
		case tokens[i].is("}"):
			if opened = opened[:len(opened)-1]; len(opened) == 0 {
				return i, nil
			}
		}
	}
	return 0, unclosed(tokens, opened[len(opened)-1])
}

// A snippet is read in one of two places: among the directives of a server block, or among the
// server blocks themselves (an `import` outside any block).
type snippetUse int

const (
	inServerBlock snippetUse = iota
	amongServerBlocks
)

// snippet is a `(name) { … }` definition. For each use it is read once, by the first import
// there: it is resolved by then, and a second import finds nothing new.
type snippet struct {
	name  string
	line  int
	body  []token         // between its braces
	state [2]snippetState // by snippetUse
}

type snippetState int

const (
	unread snippetState = iota
	reading
	read
)

// parser reads a Corefile's tokens into cf, resolving snippets as it meets their imports.
type parser struct {
	cf       *Corefile
	snippets map[string]*snippet // those defined so far: CoreDNS knows a snippet once defined
	recorded map[Import]bool     // file imports in cf.Imports
	reading  []string            // the snippets being read, outermost first
}

// serverBlocks reads server blocks, snippet definitions and imports.
func (p *parser) serverBlocks(tokens []token) error {
	for i := 0; i < len(tokens); {
		switch t := tokens[i]; {
		case t.text == "import":
			end := lineEnd(tokens, i)
			if err := p.resolveImport(tokens[i:end], amongServerBlocks, p.serverBlocks); err != nil {
				return err
			}
			i = end
		case t.is("}"):
			return errorAt(t.line, parsingError, "Unexpected '}': it closes no '{'")
		default:
			next, err := p.serverBlock(tokens, i)
			if err != nil {
				return err
			}
			i = next
		}
	}
	return nil
}

// serverBlock reads the server block or snippet definition at tokens[i] and returns the index
// after it. Its body is in braces, or, without them, runs to the end.
func (p *parser) serverBlock(tokens []token, i int) (int, error) {
	line := tokens[i].line
	keys, i, err := serverKeys(tokens, i)
	switch {
	case err != nil:
		return 0, err
	case len(keys) == 0:
		return 0, errorAt(line, parsingError, "a server block needs a key, e.g. .:53, before its directives")
	case i == len(tokens): // keys alone are a block without directives
		return i, nil
	}
	name, isSnippet := snippetName(keys)
	switch {
	case isSnippet && !tokens[i].is("{"):
		return 0, errorAt(tokens[i].line, syntaxError, "Unexpected token '%s', expecting '{'", tokens[i].text)
	case isSnippet:
		end, err := matchingBrace(tokens, i)
		if err != nil {
			return 0, err
		}
		if s := p.snippets[name]; s != nil {
			return 0, errorAt(line, parsingError, "redeclaration of snippet %s, first declared on line %d", name, s.line)
		}
		p.snippets[name] = &snippet{name: name, line: line, body: tokens[i+1 : end]}
		return end + 1, nil
	case tokens[i].is("{"):
		end, err := p.directives(tokens, i+1, keys, true)
		if err == nil && end == len(tokens) {
			err = unclosed(tokens, tokens[i].line)
		}
		return end + 1, err
	}
	return p.directives(tokens, i, keys, false)
}

// serverKeys reads the keys at tokens[i:]: words up to a '{' or the end of the line, where a key
// ending in ',' continues on the next. It returns them and the index after them.
func serverKeys(tokens []token, i int) ([]string, int, error) {
	var keys []string
	more := false // the last key ended in ','
	for j := i; j < len(tokens); j++ {
		t := tokens[j]
		if t.is("{") && more {
			return nil, 0, errorAt(t.line, parsingError, "Expected another key but had '{': check for an extra comma")
		}
		if t.is("{") || j > i && !more && newLine(tokens, j) {
			return keys, j, nil
		}
		if t.text == "" { // "" is no key
			continue
		}
		var key string
		key, more = strings.CutSuffix(t.text, ",")
		keys = append(keys, key)
	}
	if more {
		return nil, 0, errorAt(tokens[len(tokens)-1].endLine, parsingError, "Unexpected EOF: another key should follow ','")
	}
	return keys, len(tokens), nil
}

// snippetName returns the name of a snippet definition's keys, "(name)".
func snippetName(keys []string) (string, bool) {
	if len(keys) != 1 || len(keys[0]) < 2 || keys[0][0] != '(' || keys[0][len(keys[0])-1] != ')' {
		return "", false
	}
	return keys[0][1 : len(keys[0])-1], true
}

// directives reads the directives at tokens[i:] for the server block with keys, up to the end of
// tokens or, when braced, up to the '}' that closes the block (a '}' where a directive would
// start), and returns the index where it stopped.
func (p *parser) directives(tokens []token, i int, keys []string, braced bool) (int, error) {
	for i < len(tokens) {
		t := tokens[i]
		switch {
		case t.is("}") && braced:
			return i, nil
		case t.is("}"):
			return 0, errorAt(t.line, parsingError, "Unexpected '}': it closes no '{'")
		case t.is("{"):
			return 0, errorAt(t.line, parsingError, "Unexpected '{' where a directive should start")
		}
		end, err := directiveEnd(tokens, i)
		if err != nil {
			return 0, err
		}
		if err := p.directive(tokens[i:end], keys); err != nil {
			return 0, err
		}
		i = end
	}
	return i, nil
}

// directiveEnd returns the index after the directive at tokens[i]: it runs to the end of its
// line, with the blocks it opens (a '{' may also open its block on the next line).
func directiveEnd(tokens []token, i int) (int, error) {
	for j := i + 1; j < len(tokens); j++ {
		switch t := tokens[j]; {
		case t.is("{"):
			end, err := matchingBrace(tokens, j)
			if err != nil {
				return 0, err
			}
			j = end
		case newLine(tokens, j):
			return j, nil
		case t.is("}"):
			return 0, errorAt(t.line, parsingError, "Unexpected '}' on the line of %s: a directive runs to the end of its line, so the block's '}' goes on a line of its own", tokens[i].text)
		}
	}
	return len(tokens), nil
}

// directive reads one directive d of the server block with keys: a forward, or an import, or any
// other, whose blocks may import files too.
func (p *parser) directive(d []token, keys []string) error {
	switch d[0].text {
	case "import":
		return p.resolveImport(d, inServerBlock, func(body []token) error {
			_, err := p.directives(body, 0, keys, false)
			return err
		})
	case "forward":
		f, err := parseForward(keys, d)
		if err != nil {
			return err
		}
		p.cf.Forwards = append(p.cf.Forwards, f)
	}
	// An import that starts a line inside the directive's block brings CoreDNS lines of that
	// block: a file's are recorded; a snippet's are lines of the block, never directives.
	for i := 1; i < len(d); i++ {
		if d[i].text != "import" || !newLine(d, i) {
			continue
		}
		pattern, err := importArg(d[i:lineEnd(d, i)])
		if err != nil {
			return err
		}
		if p.snippets[pattern] == nil {
			p.record(Import{Line: d[i].line, Pattern: pattern})
		}
	}
	return nil
}

// lineEnd returns the index of the first token after tokens[i] that starts a line.
func lineEnd(tokens []token, i int) int {
	for i++; i < len(tokens) && !newLine(tokens, i); i++ {
	}
	return i
}

// importArg returns the argument of the import line d: `import NAME`.
func importArg(d []token) (string, error) {
	if len(d) != 2 || d[1].text == "" {
		return "", errorAt(d[0].line, parsingError, "import takes one argument: a snippet name or a file pattern")
	}
	return d[1].text, nil
}

// resolveImport reads the snippet that the import d (`import NAME`) names, with readBody, once
// for use; it records an import of anything else as a file's.
func (p *parser) resolveImport(d []token, use snippetUse, readBody func([]token) error) error {
	pattern, err := importArg(d)
	if err != nil {
		return err
	}
	s := p.snippets[pattern]
	switch {
	case s == nil:
		p.record(Import{Line: d[0].line, Pattern: pattern})
		return nil
	case s.state[use] == read:
		return nil
	case s.state[use] == reading:
		cycle := slices.Concat(p.reading[slices.Index(p.reading, s.name):], []string{s.name})
		return errorAt(d[0].line, parsingError, "import %s closes a cycle of snippets: %s", s.name, strings.Join(cycle, " -> "))
	}
	s.state[use] = reading
	p.reading = append(p.reading, s.name)
	err = readBody(s.body)
	p.reading = p.reading[:len(p.reading)-1]
	s.state[use] = read
	return err
}

// record adds a file import to the Corefile's, once.
func (p *parser) record(imp Import) {
	if !p.recorded[imp] {
		p.recorded[imp] = true
		p.cf.Imports = append(p.cf.Imports, imp)
	}
}

// parseForward reads one forward directive's tokens (the keyword first).
func parseForward(keys []string, d []token) (Forward, error) {
	kw := d[0]
	f := Forward{Keys: keys, Line: kw.line, EndLine: d[len(d)-1].endLine}
	i := 1
	var args []string
	for ; i < len(d) && !d[i].is("{"); i++ {
		args = append(args, d[i].text)
	}
	if len(args) < 2 {
		return f, fmt.Errorf("parse Corefile: line %d: forward needs FROM and at least one TO", kw.line)
	}
	f.From = args[0]
	for _, raw := range args[1:] {
		t, err := parseTarget(raw)
		if err != nil {
			return f, fmt.Errorf("parse Corefile: line %d: %w", kw.line, err)
		}
		f.Targets = append(f.Targets, t)
	}
	// Options: one per line inside the block.
	line, depth := 0, 0
	for ; i < len(d); i++ {
		t := d[i]
		switch {
		case t.is("{"):
			depth++
			continue
		case t.is("}"):
			depth--
			continue
		}
		if depth == 0 {
			continue
		}
		if t.line != line || len(f.Options) == 0 {
			f.Options = append(f.Options, t.text)
			line = t.line
		} else {
			f.Options[len(f.Options)-1] += " " + t.text
		}
	}
	return f, nil
}

// parseTarget reads a TO as CoreDNS's forward does (parse.HostPortOrFile, then only the dns and tls
// transports): [scheme://]IP[:port], or else the path of a resolv.conf-style file. A TO holding an
// environment placeholder is known only inside the CoreDNS pod.
func parseTarget(raw string) (ForwardTarget, error) {
	if hasEnvPlaceholder(raw) {
		return ForwardTarget{Raw: raw, EnvPlaceholder: true}, nil
	}
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

// hasEnvPlaceholder reports whether CoreDNS would fill in part of s from its environment: s holds
// {$NAME} or {%NAME%}, the first of its kind with a name. ({env.NAME} is no placeholder to CoreDNS.)
func hasEnvPlaceholder(s string) bool {
	for _, delims := range [][2]string{{"{$", "}"}, {"{%", "%}"}} {
		if i := strings.Index(s, delims[0]); i >= 0 && strings.Index(s[i+2:], delims[1]) > 0 {
			return true
		}
	}
	return false
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
	want := append([]string{"forward", f.From}, raws(f.Targets)...)
	tokens := lex(c.Source)
	start := -1
	for i := range tokens {
		if tokens[i].line == f.Line && tokensAre(tokens[i:], want) {
			start = i
			break
		}
	}
	if start < 0 {
		return "", fmt.Errorf("line %d: cannot find %q", f.Line, strings.Join(want, " "))
	}
	from, to := tokens[start+2].start, tokens[start+len(want)-1].end
	out := c.Source[:from] + strings.Join(targets, " ") + c.Source[to:]

	check, err := ParseCorefile(out)
	if err != nil {
		return "", fmt.Errorf("the edited Corefile does not parse: %w", err)
	}
	for _, g := range check.Forwards {
		if g.Line != f.Line {
			continue
		}
		if got := raws(g.Targets); strings.Join(got, " ") != strings.Join(targets, " ") {
			return "", fmt.Errorf("line %d: the edit gave targets %v, not %v", f.Line, got, targets)
		}
		return out, nil
	}
	return "", fmt.Errorf("line %d: no forward after the edit", f.Line)
}

// tokensAre reports whether tokens start with the words want.
func tokensAre(tokens []token, want []string) bool {
	return len(tokens) >= len(want) && slices.EqualFunc(tokens[:len(want)], want, func(t token, w string) bool { return t.text == w })
}
