package node

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localShells runs the sessions on this machine: the same loop a node runs.
func localShells(t *testing.T, fallback Node) (*Shells, *int) {
	t.Helper()
	var mu sync.Mutex
	started := 0
	s := NewShells("local", func(args ...string) *exec.Cmd {
		mu.Lock()
		started++
		mu.Unlock()
		return exec.Command(args[0], args[1:]...)
	}, fallback)
	t.Cleanup(s.Close)
	return s, &started
}

func TestShellsRunCommandsWithTheirOutputStreamsAndStatus(t *testing.T) {
	s, started := localShells(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		argv           []string
		stdout, stderr string
	}{
		{[]string{"echo", "hello"}, "hello\n", ""},
		{[]string{"printf", "no newline"}, "no newline", ""},
		{[]string{"printf", "two\n\n"}, "two\n\n", ""},
		{[]string{"true"}, "", ""},
		{[]string{"sh", "-c", "echo out; echo err >&2", "name"}, "out\n", "err\n"},
		{[]string{"printf", "%s|", "it's", "a \"quoted\" arg", "$HOME", "line\nbreak"}, "it's|a \"quoted\" arg|$HOME|line\nbreak|", ""},
	} {
		stdout, stderr, err := s.Exec(ctx, tc.argv...)
		require.NoError(t, err, "%q", tc.argv)
		assert.Equal(t, tc.stdout, string(stdout), "%q", tc.argv)
		assert.Equal(t, tc.stderr, string(stderr), "%q", tc.argv)
	}
	assert.Equal(t, 1, *started, "one session for commands one after another")

	_, stderr, err := s.Exec(ctx, "sh", "-c", "echo broken >&2; exit 3")
	code, ok := ExitCode(err)
	require.True(t, ok, "a command that ran and failed: %v", err)
	assert.Equal(t, 3, code)
	assert.Equal(t, "broken\n", string(stderr))

	_, _, err = s.Exec(ctx, "netcert-no-such-tool")
	require.Error(t, err)
	_, ran := ExitCode(err)
	assert.False(t, ran, "a missing tool cannot run, as with docker exec: %v", err)

	out, _, err := s.Exec(ctx, "cat")
	require.NoError(t, err)
	assert.Empty(t, out, "commands read no input: the requests are not theirs")
}

func TestShellsRunConcurrentCommandsSideBySideUpToTheLimit(t *testing.T) {
	s, started := localShells(t, nil)
	var wg sync.WaitGroup
	for range 2 * ShellsPerNode {
		wg.Go(func() {
			out, _, err := s.Exec(context.Background(), "sh", "-c", "sleep 0.3; echo done")
			assert.NoError(t, err)
			assert.Equal(t, "done\n", string(out))
		})
	}
	wg.Wait()
	assert.Equal(t, ShellsPerNode, *started, "at most ShellsPerNode sessions")
}

func TestShellsKillASessionWhoseCommandOutlivesItsContext(t *testing.T) {
	s, started := localShells(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := s.Exec(ctx, "sleep", "30")
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	out, _, err := s.Exec(context.Background(), "echo", "next")
	require.NoError(t, err)
	assert.Equal(t, "next\n", string(out), "a fresh session, not the stale one's output")
	assert.Equal(t, 2, *started)
}

// plainNode answers every command with "fallback".
type plainNode struct{}

func (plainNode) Name() string { return "local" }
func (plainNode) Exec(context.Context, ...string) ([]byte, []byte, error) {
	return []byte("fallback"), nil, nil
}

func TestShellsFallBackWhenNoSessionStarts(t *testing.T) {
	s := NewShells("local", func(args ...string) *exec.Cmd {
		return exec.Command("sh", "-c", "exit 1") // a node without a shell loop
	}, plainNode{})
	t.Cleanup(s.Close)
	out, _, err := s.Exec(context.Background(), "echo", "hi")
	require.NoError(t, err)
	assert.Equal(t, "fallback", string(out))
}

func TestShellsCloseIdleSessions(t *testing.T) {
	s, _ := localShells(t, nil)
	_, _, err := s.Exec(context.Background(), "true")
	require.NoError(t, err)
	s.mu.Lock()
	sh := s.idle[0]
	s.mu.Unlock()
	s.Close()
	select {
	case <-sh.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the session still runs after Close")
	}
}

func TestCloseReachesShellsThroughWrappers(t *testing.T) {
	s, _ := localShells(t, nil)
	wrapped := Record(WithDeadline(s, time.Minute))
	_, _, err := wrapped.Exec(context.Background(), "true")
	require.NoError(t, err)
	s.mu.Lock()
	sh := s.idle[0]
	s.mu.Unlock()
	Close([]Node{wrapped})
	select {
	case <-sh.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the session still runs after Close")
	}
}

func TestShellsTakeTheirTransportsMeaningOfAMissingCommand(t *testing.T) {
	// The agent's nsenter answers 127 for a command the node does not have: it ran, and says so.
	s := newShells("agent-like", func(loop []string) (*process, error) { return commandProcess(exec.Command(loop[0], loop[1:]...)) },
		func(code int) bool { return code != 126 }, nil)
	t.Cleanup(s.Close)
	_, _, err := s.Exec(context.Background(), "netcert-no-such-tool")
	code, ran := ExitCode(err)
	require.True(t, ran, "%v", err)
	assert.Equal(t, 127, code)
}
