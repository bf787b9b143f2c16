package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func i64(v int64) *int64 { return &v }

// flannelRun records a run with a healthy cluster, a fault detected and repaired, and a fault
// whose detection failed, with its findings' evidence.
func flannelRun() *Recorder {
	r := NewRecorder("flannel", "flannel")
	r.SetEnvironment(Environment{KubernetesVersion: "v1.34.4", CNI: "flannel", CNIVersion: "v0.28.10", KernelVersion: "6.1.0",
		NetcertCommit: "abc1234", NodeCount: 3, Images: "local"})
	r.Infrastructure(107*time.Second, nil)
	r.StartCase(Case{ID: "healthy-cluster", Name: "healthy cluster", Fault: "none"})
	r.Step("healthy-cluster", Step{Name: "no check fires", Outcome: Passed, DurationMS: 9000})
	r.StartCase(Case{ID: "ip-forward-off", Name: "ip-forward-off", Fault: "ip-forward-off"})
	for _, s := range []string{"baseline", "inject", "symptom", "detection", "repair", "verify"} {
		r.Step("ip-forward-off", Step{Name: s, Outcome: Passed, DurationMS: 1000})
	}
	r.Update("ip-forward-off", func(c *Case) { c.TimeToDetectMS, c.TimeToRepairMS = i64(8700), i64(1300) })
	r.StartCase(Case{ID: "overlay-port-blocked/raw-prerouting-drop", Name: "overlay-port-blocked (raw-prerouting-drop)",
		Fault: "overlay-port-blocked", Variant: "raw-prerouting-drop"})
	r.Step("overlay-port-blocked/raw-prerouting-drop", Step{Name: "baseline", Outcome: Passed, DurationMS: 5000})
	r.Step("overlay-port-blocked/raw-prerouting-drop", Step{Name: "detection", Outcome: Failed, DurationMS: 90000,
		Messages: []string{"unexpected Fail: ip-forward-off\nmore"}})
	r.Update("overlay-port-blocked/raw-prerouting-drop", func(c *Case) {
		c.Findings = []Finding{{Check: "ip-forward-off", Status: "Fail", Node: "w1", Summary: "net.ipv4.ip_forward is 0",
			Evidence: []Evidence{{Source: "sysctl net.ipv4.ip_forward", Output: "net.ipv4.ip_forward = 0"}}}}
	})
	return r
}

func TestRecorderStatus(t *testing.T) {
	assert.Equal(t, StatusFailed, flannelRun().Run().Status)

	ok := NewRecorder("smoke", "flannel")
	ok.Infrastructure(time.Second, nil)
	assert.Equal(t, StatusEmpty, ok.Run().Status, "nothing ran")
	ok.StartCase(Case{ID: "traffic-matrix", Fault: "none"})
	ok.Step("traffic-matrix", Step{Name: "traffic", Outcome: Passed})
	assert.Equal(t, StatusPassed, ok.Run().Status)
	ok.Interrupted()
	assert.Equal(t, StatusInterrupted, ok.Run().Status)

	infra := NewRecorder("calico", "calico")
	infra.Infrastructure(3*time.Minute, errors.New("calico-node DaemonSet not Ready within 5m"))
	run := infra.Run()
	assert.Equal(t, StatusInfraFailed, run.Status)
	assert.Equal(t, []string{"calico-node DaemonSet not Ready within 5m"}, run.Infrastructure.Messages)
}

func TestWriteFilesInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	infra := NewRecorder("calico", "calico")
	infra.Infrastructure(3*time.Minute, errors.New("calico-node DaemonSet not Ready within 5m"))
	rep := flannelRun().Report()
	rep.Runs = append(rep.Runs, infra.Run())
	paths, err := WriteFiles(dir, "all", rep)
	require.NoError(t, err)
	require.Len(t, paths, 4)

	back, err := ReadJSON(filepath.Join(dir, "all.json"))
	require.NoError(t, err)
	require.Len(t, back.Runs, 2)
	c := back.Runs[0].Cases["ip-forward-off"]
	assert.Equal(t, int64(8700), *c.TimeToDetectMS, "stable IDs as keys")

	var junit junitSuites
	data, err := os.ReadFile(filepath.Join(dir, "all.junit.xml"))
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(data, &junit), "valid XML")
	assert.Equal(t, 4, junit.Tests, "three cases, and the calico cluster's infrastructure")
	assert.Equal(t, 1, junit.Failures)
	assert.Equal(t, 1, junit.Errors)
	fl := junit.Suites[0]
	assert.Equal(t, "netcert/flannel", fl.Name)
	var failed junitCase
	for _, jc := range fl.Cases {
		if jc.Failure != nil {
			failed = jc
		}
	}
	assert.Equal(t, "overlay-port-blocked/raw-prerouting-drop", failed.Name)
	assert.Equal(t, "netcert.flannel", failed.ClassName)
	assert.Equal(t, "detection: unexpected Fail: ip-forward-off", failed.Failure.Message)
	assert.Contains(t, failed.Failure.Text, "net.ipv4.ip_forward = 0", "the evidence")
	assert.Equal(t, "infrastructure", junit.Suites[1].Cases[0].Name)
	assert.Contains(t, junit.Suites[1].Cases[0].Error.Text, "calico-node DaemonSet not Ready")

	html, err := os.ReadFile(filepath.Join(dir, "all.html"))
	require.NoError(t, err)
	page := string(html)
	for _, want := range []string{`id="matrix"`, `<th>calico</th>`, `<th>flannel</th>`, "detected in <b>8.7 s</b>", "repaired in <b>1.3 s</b>",
		`id="chart"`, "net.ipv4.ip_forward = 0", "calico-node DaemonSet not Ready within 5m", `id="fig-failed">1<`} {
		assert.Contains(t, page, want)
	}
	assert.NotRegexp(t, regexp.MustCompile(`(?i)(src|href)\s*=\s*"?(https?:)?//`), page, "self-contained: nothing fetched")
	assert.NotContains(t, page, "<script", "no script")

	md, err := os.ReadFile(filepath.Join(dir, "all.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| ip-forward-off | — | ✅ passed · detected 8.7 s · repaired 1.3 s |")
	assert.Contains(t, string(md), "| calico | infrastructure: calico-node DaemonSet not Ready within 5m |")
}

// An empty report, and a run where nothing ran, are still valid in every format.
func TestEmptyReportsAreValid(t *testing.T) {
	for name, rep := range map[string]Report{
		"no run":      {Schema: Schema, Generated: time.Now(), Runs: []Run{}},
		"nothing ran": NewRecorder("smoke", "flannel").Report(),
		"interrupted": func() Report { r := NewRecorder("smoke", "flannel"); r.Interrupted(); return r.Report() }(),
	} {
		var junit bytes.Buffer
		require.NoError(t, WriteJUnit(&junit, rep), name)
		var parsed junitSuites
		require.NoError(t, xml.Unmarshal(junit.Bytes(), &parsed), name)
		var html bytes.Buffer
		require.NoError(t, WriteHTML(&html, rep), name)
		assert.Contains(t, html.String(), `id="matrix"`, name)
		var js bytes.Buffer
		require.NoError(t, WriteJSON(&js, rep), name)
		assert.True(t, json.Valid(js.Bytes()), name)
	}
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	calico := NewRecorder("calico", "calico")
	calico.Infrastructure(time.Second, nil)
	_, err := WriteFiles(dir, "flannel", flannelRun().Report())
	require.NoError(t, err)
	_, err = WriteFiles(dir, "calico", calico.Report())
	require.NoError(t, err)
	rep, err := Merge([]string{filepath.Join(dir, "flannel.json"), filepath.Join(dir, "calico.json")})
	require.NoError(t, err)
	require.Len(t, rep.Runs, 2)
	assert.Equal(t, "calico", rep.Runs[0].Suite, "ordered by suite")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"schema":"something/v9","runs":[]}`), 0o644))
	_, err = Merge([]string{filepath.Join(dir, "other.json")})
	assert.ErrorContains(t, err, `schema "something/v9", want "netcert.report/v1"`)
	_, err = Merge([]string{filepath.Join(dir, "missing.json")})
	assert.Error(t, err)
}

// Two suites on one CNI that ran the same case: a failure in either fails the cell, whichever
// suite ran last.
func TestMatrixCellOfTwoSuitesShowsTheWorseOutcome(t *testing.T) {
	run := func(suite string, outcome Outcome) Run {
		r := NewRecorder(suite, "flannel")
		r.Infrastructure(time.Second, nil)
		r.StartCase(Case{ID: "traffic-matrix", Fault: "none"})
		r.Step("traffic-matrix", Step{Name: "traffic", Outcome: outcome})
		return r.Run()
	}
	for _, order := range [][]Run{
		{run("flannel", Failed), run("smoke", Passed)},
		{run("smoke", Passed), run("flannel", Failed)},
	} {
		m := buildMatrix(Report{Runs: order})
		require.Len(t, m.Rows, 1)
		c := m.Rows[0].Cells[0]
		assert.Equal(t, Failed, c.Case.Outcome)
		assert.Equal(t, order[0].Suite+", "+order[1].Suite, c.Suite)
		assert.Equal(t, 1, m.Failed)
		assert.Zero(t, m.Passed)
	}
	m := buildMatrix(Report{Runs: []Run{run("smoke", Passed), run("flannel", Passed)}})
	assert.Equal(t, Passed, m.Rows[0].Cells[0].Case.Outcome)
}

// kube-proxy's mode is an axis of the matrix: the same CNI in nftables mode is a column of its
// own, and a case skipped there says why.
func TestMatrixKubeProxyModeIsAnAxis(t *testing.T) {
	run := func(suite, mode string) Run {
		r := NewRecorder(suite, "flannel")
		r.SetEnvironment(Environment{CNI: "flannel", KubeProxyMode: mode})
		r.Infrastructure(time.Second, nil)
		r.StartCase(Case{ID: "hairpin-off", Fault: "hairpin-off"})
		r.Step("hairpin-off", Step{Name: "verify", Outcome: Passed})
		r.StartCase(Case{ID: "pod-cidr-overlap/ippool", Fault: "pod-cidr-overlap", SkipReason: "not applicable to flannel: no pools"})
		return r.Run()
	}
	rep := Report{Runs: []Run{run("flannel", "iptables"), run("nftables", "nftables")}}
	m := buildMatrix(rep)
	assert.Equal(t, []string{"flannel", "flannel · kube-proxy nftables"}, m.CNIs)
	require.Len(t, m.Rows, 2)
	var md strings.Builder
	require.NoError(t, WriteMarkdown(&md, rep))
	assert.Contains(t, md.String(), "not applicable to flannel: no pools")
}

// The JSON Schema file describes exactly the Go types: the same properties, and required where
// the field is not omitempty.
func TestSchemaMatchesTheGoTypes(t *testing.T) {
	data, err := os.ReadFile("schema.json")
	require.NoError(t, err)
	type object struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var schema struct {
		object
		Defs map[string]object `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(data, &schema))
	for def, typ := range map[string]reflect.Type{"": reflect.TypeOf(Report{}), "run": reflect.TypeOf(Run{}),
		"environment": reflect.TypeOf(Environment{}), "case": reflect.TypeOf(Case{}), "step": reflect.TypeOf(Step{}),
		"finding": reflect.TypeOf(Finding{}), "evidence": reflect.TypeOf(Evidence{})} {
		obj := schema.object
		if def != "" {
			obj = schema.Defs[def]
		}
		var props, required []string
		for i := range typ.NumField() {
			name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			props = append(props, name)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		var got []string
		for p := range obj.Properties {
			got = append(got, p)
		}
		sort.Strings(props)
		sort.Strings(got)
		sort.Strings(required)
		want := append([]string(nil), obj.Required...)
		sort.Strings(want)
		assert.Equal(t, props, got, "properties of %s", typ)
		assert.Equal(t, required, want, "required of %s", typ)
	}
}

// A soak's runs of one suite give each case its flake rate; skipped runs do not count, and one run
// of each suite gives none.
func TestRepetitionFlakeRates(t *testing.T) {
	run := func(suite string, outcomes ...Outcome) Run {
		r := NewRecorder(suite, "flannel")
		r.Infrastructure(time.Second, nil)
		for i, o := range outcomes {
			id := []string{"ip-forward-off", "hairpin-off"}[i]
			if o == Skipped {
				r.StartCase(Case{ID: id, Fault: id, SkipReason: "not here"})
				continue
			}
			r.StartCase(Case{ID: id, Fault: id})
			r.Step(id, Step{Name: "verify", Outcome: o})
		}
		return r.Run()
	}
	assert.Nil(t, Repetition([]Run{run("flannel", Passed, Passed), run("calico", Failed, Passed)}))
	rates := Repetition([]Run{
		run("flannel", Passed, Skipped), run("flannel", Failed, Skipped), run("flannel", Passed, Passed), run("flannel", Passed, Passed),
		run("calico", Passed, Passed),
	})
	assert.Equal(t, []CaseRate{
		{Suite: "calico", Case: "hairpin-off", Runs: 1, Failed: 0, Rate: 0},
		{Suite: "calico", Case: "infrastructure", Runs: 1, Failed: 0, Rate: 0},
		{Suite: "calico", Case: "ip-forward-off", Runs: 1, Failed: 0, Rate: 0},
		{Suite: "flannel", Case: "hairpin-off", Runs: 2, Failed: 0, Rate: 0},
		{Suite: "flannel", Case: "infrastructure", Runs: 4, Failed: 0, Rate: 0},
		{Suite: "flannel", Case: "ip-forward-off", Runs: 4, Failed: 1, Rate: 0.25},
	}, rates)
	var md strings.Builder
	require.NoError(t, WriteMarkdown(&md, Report{Runs: []Run{run("flannel", Failed, Passed), run("flannel", Passed, Passed)}, Repetition: rates}))
	assert.Contains(t, md.String(), "| flannel | ip-forward-off | 4 | 1 | 25% |")
	down := NewRecorder("flannel", "flannel")
	down.Infrastructure(time.Minute, errors.New("kind create cluster: no"))
	rates = Repetition([]Run{run("flannel", Passed, Passed), down.Run()})
	assert.Contains(t, rates, CaseRate{Suite: "flannel", Case: "infrastructure", Runs: 2, Failed: 1, Rate: 0.5}, "a cluster that never came up is a flake too")
}
