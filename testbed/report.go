package testbed

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/certify"
	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/traffic"
)

// ReportDirEnv overrides where a suite run writes its reports (default reports/out/suites).
const ReportDirEnv = "NETCERT_REPORT_DIR"

// T is what a recorded step needs of its *testing.T; what it reports as failed also goes into
// the step's record.
type T interface {
	require.TestingT
	Helper()
	Logf(format string, args ...any)
}

// StepFunc is one recorded step of a case.
type StepFunc func(ctx context.Context, t T, cfg *envconf.Config) context.Context

// stepT records the failures reported through it.
type stepT struct {
	*testing.T
	mu   sync.Mutex
	msgs []string
}

func (s *stepT) Errorf(format string, args ...any) {
	s.T.Helper()
	s.mu.Lock()
	s.msgs = append(s.msgs, failureText(fmt.Sprintf(format, args...)))
	s.mu.Unlock()
	s.T.Errorf(format, args...)
}

// testifyLabel matches a labelled line of a testify failure ("\tError:      \tShould be false").
var testifyLabel = regexp.MustCompile(`^\t([A-Z][A-Za-z ]*):\s*\t(.*)$`)

// failureText keeps what a testify failure says (its Error and Messages), not where it was; any
// other message stays as it is.
func failureText(msg string) string {
	if !testifyLabel.MatchString(strings.SplitN(strings.TrimPrefix(msg, "\n"), "\n", 2)[0]) {
		return strings.TrimSpace(msg)
	}
	var keep []string
	label := ""
	for _, line := range strings.Split(strings.TrimPrefix(msg, "\n"), "\n") {
		text := line
		if m := testifyLabel.FindStringSubmatch(line); m != nil {
			label, text = m[1], m[2]
		}
		if text = strings.TrimSpace(text); text != "" && (label == "Error" || label == "Messages") {
			keep = append(keep, text)
		}
	}
	return strings.Join(keep, "\n")
}

// NewFeature starts an e2e-framework feature named after the case rc, labelled fault=<rc.Fault>,
// cni=<the cluster's CNI> and variant=<rc.Variant> when there is one, whose first setup records
// that the case began.
func (c *Cluster) NewFeature(rc reports.Case) *features.FeatureBuilder {
	f := features.New(rc.Name).WithLabel("fault", rc.Fault).WithLabel("cni", c.cfg.CNI)
	if rc.Variant != "" {
		f = f.WithLabel("variant", rc.Variant)
	}
	return f.WithSetup("record the case", func(ctx context.Context, _ *testing.T, _ *envconf.Config) context.Context {
		c.rec.StartCase(rc)
		return ctx
	})
}

// Step returns fn as a named e2e-framework step (for Assess or WithSetup) whose outcome, duration
// and failures are recorded under the case caseID.
func (c *Cluster) Step(caseID, name string, fn StepFunc) (string, features.Func) {
	return name, func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		st := &stepT{T: t}
		start := time.Now()
		defer func() {
			outcome := reports.Passed
			switch {
			case t.Failed():
				outcome = reports.Failed
			case t.Skipped():
				outcome = reports.Skipped
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			c.rec.Step(caseID, reports.Step{Name: name, Outcome: outcome, DurationMS: time.Since(start).Milliseconds(), Messages: st.msgs})
		}()
		return fn(ctx, st, cfg)
	}
}

// RecordDetection records what detection named in a case, and how long it took.
func (c *Cluster) RecordDetection(caseID string, took time.Duration, findings []doctor.Finding) {
	c.rec.Update(caseID, func(rc *reports.Case) {
		rc.Findings = certify.ReportFindings(findings)
		rc.TimeToDetectMS = ptr(took.Milliseconds())
	})
}

// recordPaths tallies a run of the traffic matrix per path ID in the case.
func (c *Cluster) recordPaths(caseID string, cases []TrafficCase, results []traffic.Result) {
	paths := make([]string, len(cases))
	ok := make([]bool, len(cases))
	for i, tc := range cases {
		paths[i], ok[i] = tc.Path, results[i].OK
	}
	c.rec.Update(caseID, func(rc *reports.Case) { rc.Paths = certify.Tally(paths, ok) })
}

func ptr[V any](v V) *V { return &v }

// knownEnvironment is what is known before the cluster exists: the CNI and its version, the image
// mode and netcert's commit.
func (c *Cluster) knownEnvironment(ctx context.Context) reports.Environment {
	return reports.Environment{CNI: c.cfg.CNI, CNIVersion: imageTag(c.cniImage()), Images: string(c.cfg.Images.Mode),
		NetcertCommit: netcertCommit(ctx), KubernetesVersion: "unknown: the cluster is not up", KubeProxyMode: cmp.Or(c.cfg.KubeProxyMode, "iptables")}
}

// recordEnvironment records what the running cluster runs: Kubernetes, the CNI's version, the
// kernel, netcert's commit, the nodes and the image mode. What cannot be read says why.
func (c *Cluster) recordEnvironment(ctx context.Context, envCfg *envconf.Config) {
	env := c.knownEnvironment(ctx)
	if cs, err := kubernetes.NewForConfig(restConfig(envCfg)); err != nil {
		env.KubernetesVersion = "unknown: " + err.Error()
	} else if v, err := cs.Discovery().ServerVersion(); err != nil {
		env.KubernetesVersion = "unknown: " + err.Error()
	} else {
		env.KubernetesVersion = v.GitVersion
	}
	if nodes, err := node.KindNodes(c.cfg.Name); err != nil {
		env.KernelVersion = "unknown: " + err.Error()
	} else {
		env.NodeCount = len(nodes)
		out, err := node.Run(ctx, nodes[0], "uname", "-r")
		env.KernelVersion = strings.TrimSpace(out)
		if err != nil {
			env.KernelVersion = "unknown: " + err.Error()
		}
	}
	if mode, err := kubeProxyMode(ctx, envCfg); err == nil {
		env.KubeProxyMode = mode
	}
	c.rec.SetEnvironment(env)
}

func (c *Cluster) cniImage() string {
	if c.cfg.CNI == "calico" {
		return c.cfg.Images.CalicoNode
	}
	return c.cfg.Images.Flannel
}

func imageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return "latest"
}

// netcertCommit is the repository's commit, with "-dirty" when the work tree has changes.
func netcertCommit(ctx context.Context) string {
	root, err := RepoRoot()
	if err != nil {
		return "unknown"
	}
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	commit := strings.TrimSpace(string(out))
	if status, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(status) > 0 {
		commit += "-dirty"
	}
	return commit
}

// reportName is the suite's name in reports: the cluster's name without "netcert-".
func reportName(cluster string) string { return strings.TrimPrefix(cluster, "netcert-") }

// writeReport writes the run's reports to the report directory, as <suite>.*, and says where.
func writeReport(rec *reports.Recorder, logf func(string, ...any)) {
	dir := os.Getenv(ReportDirEnv)
	if dir == "" {
		dir = outDir("suites")
	}
	rep := rec.Report()
	paths, err := reports.WriteFiles(dir, rep.Runs[0].Suite, rep)
	if err != nil {
		logf("writing the report failed: %v", err)
		return
	}
	logf("run %s; report: %s", rep.Runs[0].Status, strings.Join(paths, ", "))
}

// outDir is reports/out/<sub> in the repository (in the working directory if the repository's
// root cannot be found).
func outDir(sub string) string {
	root, err := RepoRoot()
	if err != nil {
		root = "."
	}
	return filepath.Join(root, "reports", "out", sub)
}
