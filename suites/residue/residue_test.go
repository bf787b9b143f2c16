// Package residue proves that a suite killed with SIGKILL while a fault is injected leaves
// nothing that `netcert clean` does not find and remove: it runs the flannel suite's ip-forward-off
// feature as a child, kills it (process group, SIGKILL) once the fault is in, counts what is left
// with `netcert clean --check`, cleans the cluster (the fault is reverted from its journal) and
// the machine (cluster, Docker network and host, kubeconfig), and counts again: zero.
package residue

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/testbed"
)

// suite is the child: the flannel suite, with only its ip-forward-off feature.
const (
	suite   = "./suites/flannel"
	feature = "TestFaults/^ip-forward-off$"
	cluster = "netcert-flannel"
	// injected is the child's line for the step after the injection: the fault is in.
	injected = "=== RUN   TestFaults/ip-forward-off/the_symptom_is_real"
)

func TestSIGKILLMidFaultLeavesNoResidue(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker and kind")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin, err := testbed.BuildCLI(ctx, t.TempDir())
	require.NoError(t, err)
	run := func(ctx context.Context, args ...string) (int, string, error) {
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out), nil
		}
		return 0, string(out), err
	}
	netcert := func(args ...string) (int, string) {
		code, out, err := run(ctx, args...)
		require.NoError(t, err, "%s", out)
		return code, out
	}
	t.Cleanup(func() { // whatever happened, nothing stays
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if code, out, err := run(ctx, "clean", "--machine"); err != nil || code != 0 {
			t.Logf("netcert clean --machine: exit %d, %v: %s", code, err, out)
		}
	})

	child := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-run", feature, suite)
	child.Dir = root
	child.Env = append(os.Environ(), testbed.ReportDirEnv+"="+t.TempDir())
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	child.Stderr = child.Stdout
	start := time.Now()
	require.NoError(t, child.Start())
	in := false
	for lines := bufio.NewScanner(stdout); lines.Scan(); {
		if strings.HasPrefix(lines.Text(), injected) {
			in = true
			break
		}
	}
	require.NoError(t, syscall.Kill(-child.Process.Pid, syscall.SIGKILL))
	_ = child.Wait()
	require.True(t, in, "the child reached its fault (%s)", time.Since(start).Round(time.Second))
	t.Logf("killed the flannel suite with SIGKILL %s after its start, with ip-forward-off injected", time.Since(start).Round(time.Second))

	code, left := netcert("clean", "--kind", cluster, "--check")
	assert.Equal(t, 1, code, left)
	assert.Contains(t, left, faults.JournalDir+"/ip-forward-off", "the fault's mark outlived the kill")
	t.Logf("left on the cluster: %s", lastLine(left))
	code, left = netcert("clean", "--machine", "--check")
	assert.Equal(t, 1, code, left)
	assert.Contains(t, left, "kind cluster "+cluster)
	t.Logf("left on the machine: %s", lastLine(left))

	code, out2 := netcert("clean", "--kind", cluster)
	require.Equal(t, 0, code, out2)
	assert.Contains(t, out2, "reverted fault ip-forward-off on ")
	code, left = netcert("clean", "--kind", cluster, "--check")
	assert.Equal(t, 0, code, left)
	code, out2 = netcert("clean", "--machine")
	require.Equal(t, 0, code, out2)
	code, left = netcert("clean", "--machine", "--check")
	assert.Equal(t, 0, code, left)
	assert.Equal(t, "nothing of netcert's is left", lastLine(left))
	t.Logf("after clean: %s", lastLine(left))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
