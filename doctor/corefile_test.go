package doctor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/fixtures"
)

func readCorefileFixture(t *testing.T, name string) string {
	t.Helper()
	return testdata(t, "corefile", name)
}

// hermeticCorefile renders the Corefile the test bed gives CoreDNS.
func hermeticCorefile(t *testing.T, upstream string) string {
	t.Helper()
	out, err := fixtures.Render("coredns-corefile.tmpl", map[string]string{"ClusterDomain": "cluster.local", "Upstream": upstream})
	require.NoError(t, err)
	return string(out)
}

func TestParseCorefileKubeadmDefault(t *testing.T) {
	cf, err := ParseCorefile(readCorefileFixture(t, "kubeadm-v1.34.Corefile"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	f := cf.Forwards[0]
	assert.Equal(t, []string{".:53"}, f.Keys)
	assert.Equal(t, ".", f.From)
	assert.Equal(t, []ForwardTarget{{Raw: "/etc/resolv.conf", Transport: "dns", File: "/etc/resolv.conf"}}, f.Targets)
	assert.False(t, f.Targets[0].Probeable(), "the node's resolvers are never probed")
	assert.Equal(t, []string{"max_concurrent 1000"}, f.Options)
	assert.Equal(t, 13, f.Line)
	assert.Equal(t, 15, f.EndLine)
	assert.Equal(t, "13:     forward . /etc/resolv.conf {\n14:        max_concurrent 1000\n15:     }", cf.Excerpt(f))
}

func TestParseCorefileHermetic(t *testing.T) {
	cf, err := ParseCorefile(hermeticCorefile(t, "10.96.12.34:53"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 1)
	f := cf.Forwards[0]
	assert.Equal(t, []ForwardTarget{{Raw: "10.96.12.34:53", Transport: "dns", Address: "10.96.12.34:53"}}, f.Targets)
	assert.True(t, f.Targets[0].Probeable())
	assert.Empty(t, f.Options)
	assert.Equal(t, f.Line, f.EndLine)
	assert.Contains(t, cf.Excerpt(f), "forward . 10.96.12.34:53")
}

func TestParseCorefileSeveralServerBlocks(t *testing.T) {
	cf, err := ParseCorefile(readCorefileFixture(t, "multi-block.Corefile"))
	require.NoError(t, err)
	require.Len(t, cf.Forwards, 3)
	assert.Empty(t, cf.Imports, "a snippet import is resolved, not reported")

	stub := cf.Forwards[0]
	assert.Equal(t, []string{"corp.internal:53"}, stub.Keys)
	assert.Equal(t, []ForwardTarget{
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
	assert.Equal(t, ForwardTarget{Raw: "tls://10.96.200.20", Transport: "tls", Address: "10.96.200.20:853"}, tls.Targets[0])
	assert.False(t, tls.Targets[0].Probeable())
	assert.Equal(t, "tls://10.96.200.20:853", tls.Targets[0].String())
}

func TestParseCorefileMalformed(t *testing.T) {
	for file, want := range map[string][]string{
		"unclosed-server-block.Corefile":  {"Corefile:4", "expecting '}'", "the '{' on line 1 is never closed"},
		"unclosed-forward-block.Corefile": {"Corefile:6", "Unexpected EOF", "the '{' on line 3 is never closed"},
		"forward-without-target.Corefile": {"line 3", "forward needs FROM and at least one TO"},
	} {
		t.Run(file, func(t *testing.T) {
			_, err := ParseCorefile(readCorefileFixture(t, file))
			require.Error(t, err)
			for _, w := range want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
	_, err := ParseCorefile(".:53 { forward . 10.96.0.10 }\n")
	assert.ErrorContains(t, err, "Corefile:1 - Error during parsing: Unexpected '}'", "a directive runs to the end of its line")
	_, err = ParseCorefile(".:53 {\n    forward . 10.96.0.10 quic://10.0.0.1\n}\n")
	assert.ErrorContains(t, err, `line 2: forward target "quic://10.0.0.1": forward supports only the dns and tls transports`)
}

func TestParseCorefileDoesNotFollowFileImports(t *testing.T) {
	src := ".:53 {\n    import /etc/coredns/custom/*.override\n    forward . 10.96.12.34\n}\nimport /etc/coredns/custom/*.server\n"
	cf, err := ParseCorefile(src)
	require.NoError(t, err)
	assert.Equal(t, []Import{{Line: 2, Pattern: "/etc/coredns/custom/*.override"}, {Line: 5, Pattern: "/etc/coredns/custom/*.server"}}, cf.Imports)
	require.Len(t, cf.Forwards, 1)
	assert.Equal(t, src, cf.Source, "the source is kept as it was")
}

func TestReplaceTargetsKeepsEveryOtherByte(t *testing.T) {
	src := readCorefileFixture(t, "multi-block.Corefile")
	cf, err := ParseCorefile(src)
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

func TestLexLineMatchesTheParserTokens(t *testing.T) {
	got := lexLine(`  forward . "10.0.0.1:53" x\"y # comment "quoted"` + "\n")
	var texts []string
	for _, s := range got {
		texts = append(texts, s.text)
	}
	assert.Equal(t, []string{"forward", ".", "10.0.0.1:53", `x\"y`}, texts)
	assert.Equal(t, span{text: "10.0.0.1:53", start: 12, end: 25}, got[2])
}
