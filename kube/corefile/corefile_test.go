package corefile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/fixtures"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

// hermeticCorefile renders the Corefile the test bed gives CoreDNS.
func hermeticCorefile(t testing.TB, upstream string) string {
	t.Helper()
	out, err := fixtures.Render("coredns-corefile.tmpl", map[string]string{"ClusterDomain": "cluster.local", "Upstream": upstream})
	require.NoError(t, err)
	return string(out)
}

func TestParseKubeadmDefault(t *testing.T) {
	cf, err := Parse(readFixture(t, "kubeadm-v1.34.Corefile"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	f := cf.Forwards[0]
	assert.Equal(t, []string{".:53"}, f.Keys)
	assert.Equal(t, ".", f.From)
	assert.Equal(t, []Target{{Raw: "/etc/resolv.conf", Transport: "dns", File: "/etc/resolv.conf"}}, f.Targets)
	assert.False(t, f.Targets[0].Probeable(), "the node's resolvers are never probed")
	assert.Equal(t, []string{"max_concurrent 1000"}, f.Options)
	assert.Equal(t, 13, f.Line)
	assert.Equal(t, 15, f.EndLine)
	assert.Equal(t, "13:     forward . /etc/resolv.conf {\n14:        max_concurrent 1000\n15:     }", cf.Excerpt(f))
}

func TestParseHermetic(t *testing.T) {
	cf, err := Parse(hermeticCorefile(t, "10.96.12.34:53"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	f := cf.Forwards[0]
	assert.Equal(t, []Target{{Raw: "10.96.12.34:53", Transport: "dns", Address: "10.96.12.34:53"}}, f.Targets)
	assert.True(t, f.Targets[0].Probeable())
	assert.Empty(t, f.Options)
	assert.Equal(t, f.Line, f.EndLine)
	assert.Contains(t, cf.Excerpt(f), "forward . 10.96.12.34:53")
}

func TestParseSeveralServerBlocks(t *testing.T) {
	cf, err := Parse(readFixture(t, "multi-block.Corefile"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 3)
	assert.Empty(t, cf.Imports, "a snippet import is resolved, not reported")

	stub := cf.Forwards[0]
	assert.Equal(t, []string{"corp.internal:53"}, stub.Keys)
	assert.Equal(t, []Target{
		{Raw: "dns://10.96.200.10", Transport: "dns", Address: "10.96.200.10:53"},
		{Raw: "10.96.200.11:5353", Transport: "dns", Address: "10.96.200.11:5353"},
	}, stub.Targets)
	assert.Equal(t, []string{"policy sequential", "health_check 5s"}, stub.Options)

	root := cf.Forwards[1]
	assert.Equal(t, []string{".:53"}, root.Keys)
	assert.Equal(t, 19, root.Line)
	assert.Equal(t, []string{"10.96.12.34:53", "[fd00:10:96::a]:53"}, []string{root.Targets[0].Address, root.Targets[1].Address})

	tls := cf.Forwards[2]
	assert.Equal(t, []string{"lab.test:53"}, tls.Keys)
	assert.Equal(t, Target{Raw: "tls://10.96.200.20", Transport: "tls", Address: "10.96.200.20:853"}, tls.Targets[0])
	assert.False(t, tls.Targets[0].Probeable())
	assert.Equal(t, "tls://10.96.200.20:853", tls.Targets[0].String())
}

func TestParseMalformed(t *testing.T) {
	for file, want := range map[string][]string{
		"unclosed-server-block.Corefile":  {"Corefile:4", "expecting '}'", "the '{' on line 1 is never closed"},
		"unclosed-forward-block.Corefile": {"Corefile:6", "Unexpected EOF", "the '{' on line 3 is never closed"},
		"forward-without-target.Corefile": {"line 3", "forward needs FROM and at least one TO"},
	} {
		t.Run(file, func(t *testing.T) {
			_, err := Parse(readFixture(t, file))
			require.Error(t, err)
			for _, w := range want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
	_, err := Parse(".:53 { forward . 10.96.0.10 }\n")
	assert.ErrorContains(t, err, "Corefile:1 - Error during parsing: Unexpected '}'", "a directive runs to the end of its line")
	_, err = Parse(".:53 {\n    forward . 10.96.0.10 quic://10.0.0.1\n}\n")
	assert.ErrorContains(t, err, `line 2: forward target "quic://10.0.0.1": forward supports only the dns and tls transports`)
}

func TestParseNamesTheLineOfAMisplacedBrace(t *testing.T) {
	for src, want := range map[string]string{
		".:53 {\n    errors\n}\n}\n":                         "Corefile:4 - Error during parsing: Unexpected '}': it closes no '{'",
		".:53\nerrors\n}\n":                                  "Corefile:3 - Error during parsing: Unexpected '}': it closes no '{'",
		".:53 {\n    {\n    }\n}\n":                          "Corefile:2 - Error during parsing: Unexpected '{' where a directive should start",
		"{\n    forward . 10.96.0.10\n}\n":                   "Corefile:1 - Error during parsing: a server block needs a key",
		"(common) {\n    errors\n}\n(common) {\n}\n":         "Corefile:4 - Error during parsing: redeclaration of snippet common, first declared on line 1",
		".:53 {\n    forward . 10.96.0.10 {\n        {\n}\n": "Corefile:4 - Syntax error: Unexpected EOF, expecting '}' (the '{' on line 2 is never closed)",
	} {
		_, err := Parse(src)
		assert.ErrorContains(t, err, want, src)
	}
}

func TestParseDoesNotFollowFileImports(t *testing.T) {
	src := ".:53 {\n    import /etc/coredns/custom/*.override\n    forward . 10.96.12.34\n}\nimport /etc/coredns/custom/*.server\n"
	cf, err := Parse(src)
	require.NoError(t, err)
	assert.Equal(t, []Import{{Line: 2, Pattern: "/etc/coredns/custom/*.override"}, {Line: 5, Pattern: "/etc/coredns/custom/*.server"}}, cf.Imports)
	require.Len(t, cf.Forwards, 1)
	assert.Equal(t, src, cf.Source, "the source is kept as it was")
}

func TestReplaceTargetsKeepsEveryOtherByte(t *testing.T) {
	src := readFixture(t, "multi-block.Corefile")
	cf, err := Parse(src)
	require.NoError(t, err)

	out, err := cf.ReplaceTargets(cf.Forwards[0], []string{"10.96.12.34:53"})
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(src, `dns://10.96.200.10 "10.96.200.11:5353" {`, "10.96.12.34:53 {", 1), out)

	out, err = cf.ReplaceTargets(cf.Forwards[1], []string{"10.96.0.53"})
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(src, "forward . 10.96.12.34 [fd00:10:96::a]:53 # the", "forward . 10.96.0.53 # the", 1), out)

	out, err = cf.ReplaceTargets(cf.Forwards[2], []string{"10.96.0.53", "10.96.0.54"})
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(src, "forward . tls://10.96.200.20\n", "forward . 10.96.0.53 10.96.0.54\n", 1), out)

	_, err = cf.ReplaceTargets(cf.Forwards[2], nil)
	assert.ErrorContains(t, err, "at least one target")
}

func TestLexMatchesTheParserTokens(t *testing.T) {
	got := lex(`  forward . "10.0.0.1:53" x\"y # comment "quoted"` + "\n")
	var texts []string
	for _, s := range got {
		texts = append(texts, s.text)
	}
	assert.Equal(t, []string{"forward", ".", "10.0.0.1:53", `x\"y`}, texts)
	assert.Equal(t, token{text: "10.0.0.1:53", quoted: true, line: 1, endLine: 1, start: 12, end: 25}, got[2])
}

// CoreDNS fills in {$VAR} and {%VAR%} from its pod's environment: netcert keeps them as written,
// whatever this machine's environment holds, and never probes them.
func TestParseKeepsEnvironmentPlaceholders(t *testing.T) {
	src := readFixture(t, "env-placeholders.Corefile")
	cf, err := Parse(src)
	require.NoError(t, err)
	t.Setenv("UPSTREAM", "10.0.0.53")
	t.Setenv("UPSTREAM_HOST", "10.0.0.54")
	again, err := Parse(src)
	require.NoError(t, err)
	assert.Equal(t, cf, again, "this machine's environment plays no part")

	require.Len(t, cf.Forwards, 2)
	assert.Equal(t, []Target{
		{Raw: "{$UPSTREAM}", EnvPlaceholder: true},
		{Raw: "{%UPSTREAM%}", EnvPlaceholder: true},
		{Raw: "dns://{$UPSTREAM_HOST}:5353", EnvPlaceholder: true},
		{Raw: "10.96.12.34", Transport: "dns", Address: "10.96.12.34:53"},
	}, cf.Forwards[0].Targets)
	for _, target := range cf.Forwards[0].Targets[:3] {
		assert.False(t, target.Probeable(), target.Raw)
		assert.Equal(t, target.Raw, target.String(), "shown as written")
	}
	assert.Equal(t, []Target{{Raw: "{env.UPSTREAM}", Transport: "dns", File: "{env.UPSTREAM}"}}, cf.Forwards[1].Targets,
		"CoreDNS takes {env.UPSTREAM} for a file's path")
}

// An imported file lives in the CoreDNS pod: even where this machine has one by that name, it
// is recorded, never read.
func TestParseRecordsImportedFilesWithoutReadingThem(t *testing.T) {
	dir := t.TempDir()
	override, server := filepath.Join(dir, "extra.override"), filepath.Join(dir, "extra.server")
	require.NoError(t, os.WriteFile(override, []byte("forward . 10.96.0.66\n"), 0o600))
	require.NoError(t, os.WriteFile(server, []byte("lab.test:53 {\n    forward . 10.96.0.67\n}\n"), 0o600))

	cf, err := Parse(".:53 {\n    import " + override + "\n    forward . 10.96.12.34\n}\nimport " + server + "\n")
	require.NoError(t, err)
	assert.Equal(t, []Import{{Line: 2, Pattern: override}, {Line: 5, Pattern: server}}, cf.Imports)
	require.Len(t, cf.Forwards, 1, "the files' forwards are not read")
	assert.Equal(t, "10.96.12.34", cf.Forwards[0].Targets[0].Raw)
}

func TestParseResolvesNestedSnippets(t *testing.T) {
	cf, err := Parse(readFixture(t, "snippets.Corefile"))
	require.NoError(t, err)
	type read struct {
		Keys          []string
		From          string
		Line, EndLine int
		Options       []string
	}
	var got []read
	for _, f := range cf.Forwards {
		got = append(got, read{f.Keys, f.From, f.Line, f.EndLine, f.Options})
	}
	assert.Equal(t, []read{
		{[]string{".:53"}, ".", 4, 6, []string{"policy sequential"}},
		{[]string{"lab.test:53"}, "later.test", 24, 24, nil},
		{[]string{"lab.test:53"}, "lab.test", 29, 29, nil},
	}, got)
	assert.Equal(t, []Import{{Line: 16, Pattern: "/etc/coredns/custom/*.override"}, {Line: 21, Pattern: "later"}}, cf.Imports,
		"a snippet is known from its definition on")
}

// An import outside any server block brings server blocks, from a file or a snippet.
func TestParseImportsServerBlocksFromASnippet(t *testing.T) {
	cf, err := Parse("(zones) {\n    lab.test:53 {\n        forward . 10.96.200.20\n    }\n}\nimport zones\n.:53 {\n    forward . 10.96.12.34\n}\n")
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 2)
	assert.Equal(t, []string{"lab.test:53"}, cf.Forwards[0].Keys)
	assert.Equal(t, 3, cf.Forwards[0].Line)
	assert.Equal(t, []string{".:53"}, cf.Forwards[1].Keys)
}

func TestParseSnippetCycle(t *testing.T) {
	_, err := Parse(readFixture(t, "snippet-cycle.Corefile"))
	assert.EqualError(t, err, "parse Corefile: Corefile:9 - Error during parsing: import a closes a cycle of snippets: a -> b -> c -> a")
	_, err = Parse("(a) {\n    import a\n}\n(zones) {\n    import zones\n}\n.:53 {\n    import a\n}\n")
	assert.ErrorContains(t, err, "Corefile:2 - Error during parsing: import a closes a cycle of snippets: a -> a")
	_, err = Parse("(zones) {\n    import zones\n}\nimport zones\n")
	assert.ErrorContains(t, err, "Corefile:2 - Error during parsing: import zones closes a cycle of snippets: zones -> zones")
}

// Each snippet is read once: 30 levels that each import the one below twice would make 2^30
// copies of the forward if snippets were expanded as text.
func TestParseSnippetFanOutIsLinear(t *testing.T) {
	for _, use := range []string{".:53 {\n    import s30\n}\n", "import z30\n"} {
		var b strings.Builder
		b.WriteString("(s0) {\n    forward . 10.96.12.34\n}\n(z0) {\n    .:53 {\n        import s30\n    }\n}\n")
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(&b, "(s%d) {\n    import s%d\n    import s%d\n}\n", i, i-1, i-1)
			fmt.Fprintf(&b, "(z%d) {\n    import z%d\n    import z%d\n}\n", i, i-1, i-1)
		}
		b.WriteString(use)
		cf, err := Parse(b.String())
		require.NoError(t, err)
		require.Len(t, cf.Forwards, 1, use)
		assert.Equal(t, []string{".:53"}, cf.Forwards[0].Keys)
	}
}

func TestParseBracesInCommentsAndQuotes(t *testing.T) {
	cf, err := Parse(".:53 { # a comment with {\n    hosts \"{\" # no block here {\n    forward . 10.96.12.34#}\n    # }\n}\n")
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	assert.Equal(t, 3, cf.Forwards[0].Line)
	assert.Equal(t, 3, cf.Forwards[0].EndLine)
	assert.Equal(t, []string{"10.96.12.34"}, Raws(cf.Forwards[0].Targets), "a '#' within a word drops the rest of the word")

	cf, err = Parse(".:53 {\n    forward . 10.96.12.34#} 10.96.12.35\n}\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.96.12.34", "10.96.12.35"}, Raws(cf.Forwards[0].Targets), "and only of the word, as in CoreDNS")

	cf, err = Parse(".:53 {\n    forward . 10.96.12.34 {\n        expire \"}\"\n    }\n}\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"expire }"}, cf.Forwards[0].Options, "a quoted brace is a word")
}
