package corefile

import (
	"fmt"
	"slices"
	"strings"
)

// ReplaceTargets returns the Corefile with the TOs of f (one of c.Forwards) replaced by targets;
// every other byte stays as it was. The result is parsed again to prove the edit.
func (c *Corefile) ReplaceTargets(f Forward, targets []string) (string, error) {
	if len(targets) == 0 {
		return "", fmt.Errorf("line %d: a forward needs at least one target", f.Line)
	}
	want := append([]string{"forward", f.From}, Raws(f.Targets)...)
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

	check, err := Parse(out)
	if err != nil {
		return "", fmt.Errorf("the edited Corefile does not parse: %w", err)
	}
	for _, g := range check.Forwards {
		if g.Line != f.Line {
			continue
		}
		if got := Raws(g.Targets); strings.Join(got, " ") != strings.Join(targets, " ") {
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
