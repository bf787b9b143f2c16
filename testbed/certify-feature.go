package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/certify"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/reports"
)

// CertifyFeature runs the netcert CLI, as a person does, against the cluster: `certify` of the
// healthy cluster writes passing reports without touching it; `certify --inject ip-forward-off
// --allow-nodes <worker>` proves the fault and reverts it; a certify killed with SIGKILL while its
// fault is in leaves the fault marked, `netcert clean` reverts it and removes what netcert put on
// the cluster, and `clean --check` counts nothing left. It removes netcert's namespaces: run it
// last.
func (c *Cluster) CertifyFeature() features.Feature {
	const caseID = "certify-and-clean"
	var dir, bin, worker string
	var nodes []node.Node
	tempDir := func(name string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			panic(err)
		}
		return d
	}
	cli := func(ctx context.Context, args ...string) *exec.Cmd {
		args = append(args[:1:1], append([]string{"--kind", c.cfg.Name, "--kubeconfig", c.kubeconfig}, args[1:]...)...)
		return exec.CommandContext(ctx, bin, args...)
	}
	return c.NewFeature(reports.Case{ID: caseID, Name: "certify and clean (CLI)", Fault: "ip-forward-off"}).
		WithSetup("a directory for the CLI and its reports", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			dir = t.TempDir()
			return ctx
		}).
		Assess(c.Step(caseID, "build the netcert CLI", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			var err error
			bin, err = BuildCLI(ctx, dir)
			require.NoError(t, err)
			dc, _, err := c.Targets(cfg)
			require.NoError(t, err)
			nodes = dc.Nodes
			worker = nodes[slices.IndexFunc(nodes, func(n node.Node) bool { return n.Name() != c.cfg.Name+"-control-plane" })].Name()
			return ctx
		})).
		Assess(c.Step(caseID, "certify a healthy cluster: reports, every case passed", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			dir := tempDir("healthy")
			start := time.Now()
			out, err := cli(ctx, "certify", "--out", dir).CombinedOutput()
			require.NoError(t, err, "%s", out)
			c.cfg.Logf("netcert certify (healthy) in %s", since(start))
			rep, err := reports.ReadJSON(filepath.Join(dir, "certify.json"))
			require.NoError(t, err)
			run := rep.Runs[0]
			assert.Equal(t, reports.StatusPassed, run.Status)
			for _, id := range []string{certify.ChecksCase, certify.TrafficCase} {
				assert.Equal(t, reports.Passed, run.Cases[id].Outcome, id)
			}
			assert.NotEmpty(t, run.Cases[certify.TrafficCase].Paths)
			for _, ext := range []string{"junit.xml", "html", "md"} {
				assert.FileExists(t, filepath.Join(dir, "certify."+ext))
			}
			return ctx
		})).
		Assess(c.Step(caseID, "certify with ip-forward-off on an allowed node: named, reverted", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			dir := tempDir("fault")
			start := time.Now()
			out, err := cli(ctx, "certify", "--out", dir, "--inject", "ip-forward-off", "--allow-nodes", worker).CombinedOutput()
			require.NoError(t, err, "%s", out)
			c.cfg.Logf("netcert certify --inject ip-forward-off in %s", since(start))
			rep, err := reports.ReadJSON(filepath.Join(dir, "certify.json"))
			require.NoError(t, err)
			fault := rep.Runs[0].Cases["ip-forward-off"]
			assert.Equal(t, reports.Passed, fault.Outcome, "%+v", fault.Steps)
			assert.Positive(t, fault.Paths["pod-to-pod/cross-node"].Failed, "the symptom was real")
			assert.Equal(t, "1", sysctl(ctx, t, nodes, worker), "reverted")
			return ctx
		})).
		Assess(c.Step(caseID, "a certify killed with SIGKILL mid-fault: clean reverts it, nothing is left", func(ctx context.Context, t T, cfg *envconf.Config) context.Context {
			cmd := cli(ctx, "certify", "--out", tempDir("killed"), "--inject", "ip-forward-off", "--allow-nodes", worker)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			injected := false
			for lines := bufio.NewScanner(stderr); lines.Scan(); {
				if strings.HasPrefix(lines.Text(), "injected ip-forward-off on ") {
					injected = true
					break
				}
			}
			require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
			var exit *exec.ExitError
			require.True(t, errors.As(cmd.Wait(), &exit), "killed")
			require.True(t, injected, "certify said it injected the fault")
			assert.Equal(t, "0", sysctl(ctx, t, nodes, worker), "the fault outlived the killed run")

			out, err := cli(ctx, "clean", "--check").CombinedOutput()
			var code *exec.ExitError
			require.True(t, errors.As(err, &code) && code.ExitCode() == 1, "clean --check finds what the killed run left: %s", out)
			assert.Contains(t, string(out), faults.JournalDir+"/ip-forward-off on "+worker)
			c.cfg.Logf("after SIGKILL: %s", strings.TrimSpace(lastLine(string(out))))
			out, err = cli(ctx, "clean").CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "reverted fault ip-forward-off on "+worker)
			assert.Equal(t, "1", sysctl(ctx, t, nodes, worker), "clean reverted the fault")
			out, err = cli(ctx, "clean", "--check").CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Equal(t, "nothing of netcert's is left", lastLine(string(out)))
			c.cfg.Logf("after clean: %s", lastLine(string(out)))
			return ctx
		})).Feature()
}

// sysctl reads net.ipv4.ip_forward on the node called name.
func sysctl(ctx context.Context, t T, nodes []node.Node, name string) string {
	t.Helper()
	i := slices.IndexFunc(nodes, func(n node.Node) bool { return n.Name() == name })
	require.GreaterOrEqual(t, i, 0, name)
	out, err := node.Run(ctx, nodes[i], "sysctl", "-n", "net.ipv4.ip_forward")
	require.NoError(t, err)
	return strings.TrimSpace(out)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// BuildCLI builds the netcert CLI into dir, for features that run it as a person does.
func BuildCLI(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "netcert")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/netcert/netcert/cmd/netcert").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the netcert CLI: %w: %s", err, out)
	}
	return bin, nil
}
