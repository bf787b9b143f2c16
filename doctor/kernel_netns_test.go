package doctor

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/probe"
)

// probeForKernelTest skips a test on a real kernel without root, with -short or without one of
// tools, and builds netcert-probe for it.
func probeForKernelTest(t *testing.T, tools ...string) string {
	t.Helper()
	if testing.Short() || os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces; skipped with -short")
	}
	for _, tool := range append(tools, "ip", "go") {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("no " + tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "netcert-probe")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/netcert-probe").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// udpEcho runs netcert-probe's UDP echo on addr (IP:port) in namespace server until the test
// ends, and returns a probe of it from namespace client: whether a datagram came back.
func udpEcho(t *testing.T, bin, server, client, addr string) func() bool {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", server, bin, "serve", "--http", "127.0.0.1:8080", "--tcp", "127.0.0.1:8081", "--udp", addr)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	time.Sleep(300 * time.Millisecond) // the server binds
	return func() bool {
		out, _ := exec.Command("ip", "netns", "exec", client, bin, "udp", "--timeout", "500ms", addr).Output()
		res, err := probe.ParseResult(out)
		require.NoError(t, err, "%s", out)
		return res.OK
	}
}

// repairHeals applies plan, proves with traffic (through) that it healed, applies it again to
// prove it changes nothing, and runs the check to see it pass.
func repairHeals(t *testing.T, p Problem, c *Cluster, plan Plan, through func() bool) {
	t.Helper()
	rec, err := p.Apply(t.Context(), c, plan)
	require.NoError(t, err)
	assert.True(t, rec.Steps[0].Changed)
	assert.True(t, through(), "the repair lets the traffic through")
	rec, err = p.Apply(t.Context(), c, plan)
	require.NoError(t, err)
	assert.False(t, rec.Steps[0].Changed, "idempotent")
	findings, err := p.Run(t.Context(), c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
}
