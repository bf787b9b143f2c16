package node

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFakeAnswersTheLongestPrefix(t *testing.T) {
	f := NewFake("n1").Reply("sysctl", "generic").Reply("sysctl -n net.ipv4.ip_forward", "1\n")
	out, _, err := f.Exec(context.Background(), "sysctl", "-n", "net.ipv4.ip_forward")
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(out))

	out, _, err = f.Exec(context.Background(), "sysctl", "-a")
	require.NoError(t, err)
	assert.Equal(t, "generic", string(out))
	assert.Equal(t, []string{"sysctl -n net.ipv4.ip_forward", "sysctl -a"}, f.Calls())
}

func TestFakeUnknownCommandFailsLikeAMissingProgram(t *testing.T) {
	_, _, err := NewFake("n1").Exec(context.Background(), "nft", "list", "ruleset")
	code, ok := ExitCode(err)
	require.True(t, ok)
	assert.Equal(t, 127, code)
	assert.ErrorContains(t, err, "n1: nft list ruleset")
}

func TestFakeNonZeroExit(t *testing.T) {
	f := NewFake("n1").Handle("false", func([]string) (string, int) { return "", 1 })
	_, _, err := f.Exec(context.Background(), "false")
	code, ok := ExitCode(err)
	require.True(t, ok)
	assert.Equal(t, 1, code)
}
