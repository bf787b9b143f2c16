package corefile

import (
	"fmt"
	"slices"
	"strings"
)

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
		t, err := ParseTarget(raw)
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
