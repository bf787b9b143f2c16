package corefile

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

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
