package faults

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/node"
)

// journalOn makes fake node n keep a journal in memory: the entries (path → script) it holds,
// and the scripts RevertJournal ran.
type fakeJournal struct {
	entries map[string]string
	ran     []string
}

func journalOn(n *node.Fake) *fakeJournal {
	j := &fakeJournal{entries: map[string]string{}}
	line := func(argv []string) string { return strings.Join(argv, " ") }
	n.Handle(line(journalWrite), func(argv []string) (string, int) {
		j.entries[argv[len(argv)-2]] = argv[len(argv)-1]
		return "", 0
	})
	n.Handle(line(journalDrop), func(argv []string) (string, int) {
		delete(j.entries, argv[len(argv)-1])
		return "", 0
	})
	n.Handle(line(journalList), func([]string) (string, int) {
		var out []string
		for p := range j.entries {
			out = append(out, p)
		}
		return strings.Join(out, "\n"), 0
	})
	n.Handle(line(journalRun), func(argv []string) (string, int) {
		p := argv[len(argv)-1]
		j.ran = append(j.ran, j.entries[p])
		delete(j.entries, p)
		return "", 0
	})
	return j
}

// The journal's scripts, run by a real shell on a temporary directory: write replaces an entry
// whole, list names the entries, run executes one and removes it only when it succeeds.
func TestJournalScriptsOnARealShell(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := filepath.Join(t.TempDir(), "faults")
	marker := filepath.Join(t.TempDir(), "reverted")
	sh := func(script []string, args ...string) (string, error) {
		out, err := exec.Command(script[0], append(script[1:], args...)...).CombinedOutput()
		return string(out), err
	}
	entry := filepath.Join(dir, "ip-forward-off")
	_, err := sh(journalWrite, entry, shellLine("echo", "it's reverted")+" > "+shellQuote(marker))
	require.NoError(t, err)
	out, err := sh(journalList, dir)
	require.NoError(t, err)
	assert.Equal(t, entry+"\n", out)

	failing := filepath.Join(dir, "broken")
	_, err = sh(journalWrite, failing, "false")
	require.NoError(t, err)
	_, err = sh(journalRun, failing)
	assert.Error(t, err)
	assert.FileExists(t, failing, "an entry whose revert failed stays for the next clean")

	_, err = sh(journalRun, entry)
	require.NoError(t, err)
	got, err := os.ReadFile(marker)
	require.NoError(t, err)
	assert.Equal(t, "it's reverted\n", string(got))
	assert.NoFileExists(t, entry)

	out, err = sh(journalList, filepath.Join(t.TempDir(), "none"))
	require.NoError(t, err, "no journal: nothing to list")
	assert.Empty(t, out)
}

// A fault journals its revert before it changes anything; its revert removes the entry; a run
// killed in between leaves the entry, and RevertJournal runs it.
func TestIPForwardOffIsJournaled(t *testing.T) {
	value := "1"
	n := forwardingNode("w1", &value)
	j := journalOn(n)
	c := &Cluster{Nodes: []node.Node{n}}
	revert, err := IPForwardOff{Node: "w1"}.Inject(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"/run/netcert/faults/ip-forward-off": "'sysctl' '-w' 'net.ipv4.ip_forward=1'"}, j.entries)
	calls := n.Calls()
	assert.Contains(t, calls[1], "netcert-journal", "journaled before the change")
	require.NoError(t, revert(context.Background()))
	assert.Empty(t, j.entries)

	_, err = IPForwardOff{Node: "w1"}.Inject(context.Background(), c) // and the run dies here
	require.NoError(t, err)
	reverted, err := RevertJournal(context.Background(), n)
	require.NoError(t, err)
	assert.Equal(t, []string{"ip-forward-off"}, reverted)
	assert.Equal(t, []string{"'sysctl' '-w' 'net.ipv4.ip_forward=1'"}, j.ran)
	assert.Empty(t, j.entries)
}

func TestShellLineQuotesEveryWord(t *testing.T) {
	out, err := exec.Command("sh", "-c", "printf '%s|' "+shellLine("a b", "it's", `$HOME`, "")).Output()
	require.NoError(t, err)
	assert.Equal(t, `a b|it's|$HOME||`, string(out))
}

// withoutJournal leaves the journal's commands out of a fake node's calls.
func withoutJournal(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !strings.Contains(c, " netcert-journal ") {
			out = append(out, c)
		}
	}
	return out
}
