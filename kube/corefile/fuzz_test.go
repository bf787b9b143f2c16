package corefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: the parser is total (no panic, no hang, on any input), what it finds lies in
// the source, and an edit of a forward it found parses again.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.Corefile"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, src := range []string{
		hermeticCorefile(f, "10.96.12.34:53"),
		".:53 {\n    forward . {$UPSTREAM} {%UPSTREAM%} {env.UPSTREAM} {$} {%%}\n}\n",
		".:53 {\n    import /etc/coredns/custom/*.override\n    forward . 10.0.0.1 {\n        import opts\n    }\n}\nimport custom/*.server\n",
		"(a) {\n    forward . 10.0.0.1\n}\n(b) {\n    import a\n    import a\n}\n(c) {\n    import b\n    import b\n}\n.:53 {\n    import c\n}\nimport c\n",
		"(a) {\n    import b\n}\n(b) {\n    import a\n}\n.:53 {\n    import a\n}\n",
		".:53 {\n    hosts \"{\" \"}\"\n    forward . \"10.0.0.1\" \"10.0.0.2:53\"\n}\n",
		".:53 { # {\n    forward . 10.0.0.1 # }\n    # {\n}\n",
		".:53 {\n    forward . \"10.0.0.1\n\" 10.0.0.2 \"a\\\"b\" {\n    policy random }\n}\n",
		"a.test, b.test,\nc.test\n{\n    forward . tls://10.0.0.1\n    {\n    }\n}\n",
		"\uFEFF.:53\nforward . 10.0.0.1\n",
		"(s) { forward . 10.0.0.1 } .:53 { import s\n}\n",
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		cf, err := Parse(src)
		if err != nil {
			return
		}
		lines := strings.Count(src, "\n") + 1
		for _, imp := range cf.Imports {
			if imp.Line < 1 || imp.Line > lines {
				t.Fatalf("import %q on line %d of %d", imp.Pattern, imp.Line, lines)
			}
		}
		for _, fw := range cf.Forwards {
			if fw.Line < 1 || fw.EndLine < fw.Line || fw.EndLine > lines {
				t.Fatalf("forward on lines %d-%d of %d", fw.Line, fw.EndLine, lines)
			}
			out, err := cf.ReplaceTargets(fw, []string{"10.0.0.1"})
			if err != nil {
				continue
			}
			if _, err := Parse(out); err != nil {
				t.Fatalf("the edit of line %d does not parse: %v\n%s", fw.Line, err, out)
			}
		}
	})
}
