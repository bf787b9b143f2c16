package testbed

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunLoggedLogsKindsStepsAndKeepsTheTailInTheError(t *testing.T) {
	var logged []string
	c := &Cluster{cfg: Config{Logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}}

	require.NoError(t, c.runLogged(exec.Command("sh", "-c", "echo ' • Preparing nodes ...'; echo ' ✓ Preparing nodes'; echo; echo 'ERROR: no node' >&2; echo 'Have a question?'")))
	assert.Equal(t, []string{"  kind: ✓ Preparing nodes", "  kind: ERROR: no node"}, logged)

	logged = nil
	err := c.runLogged(exec.Command("sh", "-c", "for i in 1 2 3 4 5 6 7; do echo line $i; done; exit 3"))
	require.Error(t, err)
	assert.Empty(t, logged, "no step ended")
	assert.ErrorContains(t, err, "exit status 3")
	assert.ErrorContains(t, err, "line 3 | line 4 | line 5 | line 6 | line 7")
	assert.NotContains(t, err.Error(), "line 2")
}

func TestPreloadedMatchesTheImageAndItsBuild(t *testing.T) {
	label := "registry.k8s.io/pause:3.10.1@sha256:aa netcert.local/probe:dev@sha256:bb"
	assert.True(t, preloaded(label, "netcert.local/probe:dev", "sha256:bb\n"), "docker prints the ID with a newline")
	assert.False(t, preloaded(label, "netcert.local/probe:dev", "sha256:cc"), "another build of the probe: load it")
	assert.False(t, preloaded(label, "netcert.local/agent:dev", "sha256:bb"), "not in the node image")
	assert.False(t, preloaded("", "netcert.local/probe:dev", "sha256:bb"), "a node image without the label (kindest/node)")
}
