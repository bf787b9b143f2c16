// Package corefile reads CoreDNS's Corefile as CoreDNS does, but hermetically: netcert's own lexer
// and parser, with no environment expansion and no file access, so nothing of the machine netcert
// runs on takes part. It finds the forward directives and their targets, and edits a forward's
// targets keeping every other byte. Both the doctor and the faults use it; it imports no netcert
// package.
package corefile

import (
	"fmt"
	"strings"
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
	Targets []Target
	Options []string // the block's option lines, tokens joined by one space
	Line    int      // the line of the forward keyword (FROM and every TO are on it)
	EndLine int      // the line of its last token
}

// Parse parses src as CoreDNS does, without its environment or files. A malformed Corefile
// gives an error naming the line, worded as CoreDNS words it. The work is linear in len(src): each
// snippet is read once, however often it is imported.
func Parse(src string) (*Corefile, error) {
	p := &parser{cf: &Corefile{Source: src}, snippets: map[string]*snippet{}, recorded: map[Import]bool{}}
	if err := p.serverBlocks(lex(src)); err != nil {
		return nil, err
	}
	return p.cf, nil
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
