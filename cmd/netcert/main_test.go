package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor"
)

// fakeProblem is a check whose verdict is its state ("ok", "broken", "error"); its repair sets
// the state to "ok" unless it is manual.
type fakeProblem struct {
	id     string
	state  *string
	manual bool
	action string // its plan's summary; default "fix <id>"
}

func (p fakeProblem) ID() string { return p.id }

func (p fakeProblem) Run(context.Context, *doctor.Cluster) ([]doctor.Finding, error) {
	switch *p.state {
	case "error":
		return nil, errors.New("cannot reach the nodes")
	case "broken":
		return []doctor.Finding{{Check: p.id, Node: "w1", Status: doctor.Fail, Summary: p.id + " is broken",
			Evidence: []doctor.Evidence{{Source: "w1$ look", Output: "broken"}}}}, nil
	}
	return []doctor.Finding{{Check: p.id, Node: "w1", Status: doctor.Pass, Summary: p.id + " is fine"}}, nil
}

func (p fakeProblem) Plan(context.Context, *doctor.Cluster, []doctor.Finding) (doctor.Plan, error) {
	if *p.state != "broken" {
		return doctor.Plan{Check: p.id}, nil
	}
	if p.manual {
		return doctor.Plan{Check: p.id, Manual: []string{"re-create the cluster"}}, nil
	}
	summary := p.action
	if summary == "" {
		summary = "fix " + p.id
	}
	return doctor.Plan{Check: p.id, Actions: []doctor.Action{{Node: "w1", Summary: summary, Argv: [][]string{{"fix", p.id}}}}}, nil
}

func (p fakeProblem) Apply(context.Context, *doctor.Cluster, doctor.Plan) (doctor.Record, error) {
	*p.state = "ok"
	return doctor.Record{Check: p.id, Steps: []doctor.Step{{Action: doctor.Action{Summary: "fix " + p.id}, Changed: true}}}, nil
}

// cli runs the command line against problems with the given states.
func cli(t *testing.T, problems []doctor.Problem, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	conn := func(context.Context, target, io.Writer) (*session, error) {
		return &session{cluster: &doctor.Cluster{CNI: "flannel"}, problems: problems}, nil
	}
	code := run(context.Background(), args, &stdout, &stderr, conn)
	return code, stdout.String(), stderr.String()
}

func states(s ...string) ([]doctor.Problem, []*string) {
	var problems []doctor.Problem
	var ptrs []*string
	for i, state := range s {
		state := state
		ptrs = append(ptrs, &state)
		problems = append(problems, fakeProblem{id: []string{"ip-forward-off", "coredns-forward-broken", "pod-cidr-overlap"}[i], state: &state})
	}
	return problems, ptrs
}

func TestDoctorHealthy(t *testing.T) {
	problems, _ := states("ok", "ok")
	code, out, progress := cli(t, problems, "doctor", "--kind", "x")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "2 checks: 2 Pass")
	assert.Contains(t, progress, "running 2 checks on 0 nodes (flannel) ...")
	assert.Contains(t, progress, "  coredns-forward-broken: Pass in")
}

func TestDoctorNamesTheFailureWithEvidence(t *testing.T) {
	problems, _ := states("ok", "broken")
	code, out, _ := cli(t, problems, "doctor", "-v")
	assert.Equal(t, exitFailed, code)
	assert.Regexp(t, `coredns-forward-broken\s+Fail\s+w1\s+coredns-forward-broken is broken`, out)
	assert.Contains(t, out, "evidence of coredns-forward-broken Fail [w1]:\n  w1$ look\n    broken\n")
	assert.Contains(t, out, "2 checks: 1 Fail, 1 Pass")
}

func TestDoctorReportsACheckThatCannotEvaluateAndRunsTheOthers(t *testing.T) {
	problems, _ := states("error", "broken")
	code, out, _ := cli(t, problems, "doctor")
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, out, "could not evaluate: cannot reach the nodes")
	assert.Contains(t, out, "coredns-forward-broken is broken")
}

func TestDoctorJSON(t *testing.T) {
	problems, _ := states("broken", "error")
	code, out, _ := cli(t, problems, "doctor", "--json")
	assert.Equal(t, exitTrouble, code)
	var results []checkResult
	require.NoError(t, json.Unmarshal([]byte(out), &results))
	require.Len(t, results, 2)
	assert.Equal(t, doctor.Fail, results[0].Findings[0].Status)
	assert.Equal(t, "broken", results[0].Findings[0].Evidence[0].Output)
	assert.Equal(t, "cannot reach the nodes", results[1].Error)
}

// planFile is a plan file's path for one test.
func planFilePath(t *testing.T) string { return filepath.Join(t.TempDir(), "plan.json") }

func TestRepairPlansOnlyUnlessAsked(t *testing.T) {
	problems, st := states("broken", "ok")
	plan := planFilePath(t)
	code, out, _ := cli(t, problems, "repair", "-v", "--plan-file", plan)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "plan for ip-forward-off:\n  - w1: fix ip-forward-off\n      $ fix ip-forward-off\n")
	assert.Contains(t, out, "nothing changed: the plan is in "+plan)
	assert.Equal(t, "broken", *st[0])
	written, err := readPlanFile(plan)
	require.NoError(t, err)
	assert.Equal(t, []string{"ip-forward-off w1"}, written.RootCauses)

	code, out, _ = cli(t, problems, "repair", "--apply", plan)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "applied fix ip-forward-off: changed")
	assert.Contains(t, out, "looking again (sweep 2) ...\nevery check passes now")
	assert.Equal(t, "ok", *st[0])

	code, out, _ = cli(t, problems, "repair", "--apply", plan)
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "no check fails: the plan is not needed any more, nothing changed\n", out)
}

// --apply carries out a reviewed plan file, never one made on the spot; and only while the
// cluster still needs exactly that plan.
func TestRepairApplyNeedsThePlanFileAndRefusesWhenTheClusterChanged(t *testing.T) {
	code, _, errOut := cli(t, nil, "repair", "--apply")
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "--apply needs the plan file `netcert repair` wrote")
	code, _, errOut = cli(t, nil, "repair", "--apply", filepath.Join(t.TempDir(), "none.json"))
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "read the plan file")

	problems, st := states("broken", "ok")
	plan := planFilePath(t)
	code, _, _ = cli(t, problems, "repair", "--plan-file", plan)
	require.Equal(t, exitFailed, code)
	*st[1] = "broken" // a new root cause since the plan
	code, out, _ := cli(t, problems, "repair", "--apply", plan)
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, out, "the cluster changed since the plan (coredns-forward-broken w1 is a root cause the plan does not know)")
	assert.Equal(t, "broken", *st[0], "nothing applied")

	*st[1] = "ok"
	other := []doctor.Problem{fakeProblem{id: "ip-forward-off", state: st[0], manual: false, action: "fix differently"}, problems[1]}
	code, out, _ = cli(t, other, "repair", "--apply", plan)
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, out, "the cluster changed since the plan (ip-forward-off would now plan")
	assert.Equal(t, "broken", *st[0], "nothing applied")

	pf, err := readPlanFile(plan)
	require.NoError(t, err)
	pf.Cluster = "https://elsewhere:6443"
	require.NoError(t, writePlanFile(plan, pf))
	code, _, errOut = cli(t, problems, "repair", "--apply", plan)
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, `the plan is for the cluster at "https://elsewhere:6443"`)
}

func TestRepairLeavesManualPlansToAPerson(t *testing.T) {
	st := "broken"
	problems := []doctor.Problem{fakeProblem{id: "pod-cidr-overlap", state: &st, manual: true}}
	plan := planFilePath(t)
	code, out, _ := cli(t, problems, "repair", "--plan-file", plan)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "  - by hand: re-create the cluster")
	code, out, _ = cli(t, problems, "repair", "--apply", plan)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "1 root cause(s) left that netcert does not repair on its own")
	assert.Equal(t, "broken", st)
}

// symptomProblem fails, crossing node w1, while its cause is broken; its own repair would
// rewrite something (it records that it ran).
type symptomProblem struct {
	cause   *string
	applied *int
}

func (symptomProblem) ID() string { return "coredns-forward-broken" }
func (p symptomProblem) Run(context.Context, *doctor.Cluster) ([]doctor.Finding, error) {
	if *p.cause == "broken" {
		return []doctor.Finding{{Check: p.ID(), Object: "forward 10.96.0.53", Status: doctor.Fail, Summary: "the upstream does not answer", Crosses: []string{"w1"}}}, nil
	}
	return []doctor.Finding{{Check: p.ID(), Object: "forward 10.96.0.53", Status: doctor.Pass, Summary: "the upstream answers"}}, nil
}
func (p symptomProblem) Plan(_ context.Context, _ *doctor.Cluster, fs []doctor.Finding) (doctor.Plan, error) {
	plan := doctor.Plan{Check: p.ID()}
	for _, f := range fs {
		if f.Status == doctor.Fail && f.CausedBy == "" {
			plan.Manual = append(plan.Manual, "point CoreDNS elsewhere")
		}
	}
	return plan, nil
}
func (p symptomProblem) Apply(context.Context, *doctor.Cluster, doctor.Plan) (doctor.Record, error) {
	*p.applied++
	return doctor.Record{}, nil
}

func TestRepairFixesTheRootCauseAndLooksAgain(t *testing.T) {
	cause, applied := "broken", 0
	problems := []doctor.Problem{fakeProblem{id: "ip-forward-off", state: &cause}, symptomProblem{cause: &cause, applied: &applied}}
	code, out, _ := cli(t, problems, "doctor")
	assert.Equal(t, exitFailed, code)
	assert.Regexp(t, `(?s)ip-forward-off\s+Fail\s+w1.*coredns-forward-broken\s+Fail \(consequence\)\s+forward 10.96.0.53\s+the upstream does not answer \[caused by ip-forward-off w1\]`, out)
	assert.Contains(t, out, "1 root cause(s), 1 consequence(s)")

	plan := planFilePath(t)
	code, out, _ = cli(t, problems, "repair", "--plan-file", plan)
	assert.Equal(t, exitFailed, code)
	assert.NotContains(t, out, "plan for coredns-forward-broken", "a consequence is not planned on its own")
	code, out, _ = cli(t, problems, "repair", "--apply", plan)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "root cause: Fail ip-forward-off [w1]: ip-forward-off is broken\n  consequence: coredns-forward-broken forward 10.96.0.53: the upstream does not answer\n")
	assert.NotContains(t, out, "plan for coredns-forward-broken", "a consequence is not planned on its own")
	assert.Contains(t, out, "every check passes now")
	assert.Zero(t, applied, "no CoreDNS edit because ip_forward was off")
}

func TestRepairStopsWhenARepairDoesNotTake(t *testing.T) {
	st := "broken"
	stubborn := stubbornProblem{fakeProblem{id: "ip-forward-off", state: &st}}
	plan := planFilePath(t)
	code, _, _ := cli(t, []doctor.Problem{stubborn}, "repair", "--plan-file", plan)
	require.Equal(t, exitFailed, code)
	code, out, _ := cli(t, []doctor.Problem{stubborn}, "repair", "--apply", plan)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "ip-forward-off w1 still fails after its repair: stopping")
}

// stubbornProblem's repair changes nothing.
type stubbornProblem struct{ fakeProblem }

func (p stubbornProblem) Apply(context.Context, *doctor.Cluster, doctor.Plan) (doctor.Record, error) {
	return doctor.Record{Check: p.id}, nil
}

func TestUsage(t *testing.T) {
	code, _, errOut := cli(t, nil)
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "usage: netcert <command>")
	code, _, errOut = cli(t, nil, "certfy")
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, `unknown command "certfy"`)
	code, _, _ = cli(t, nil, "doctor", "--no-such-flag")
	assert.Equal(t, exitTrouble, code)
	code, _, errOut = cli(t, nil, "agent", "start")
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "usage: netcert agent install|remove")
	code, _, errOut = cli(t, nil, "probes")
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "usage: netcert probes install|remove")
	code, _, errOut = cli(t, nil, "repair", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, errOut, "-apply")
}

func TestConnectRefusesBadFlags(t *testing.T) {
	_, err := connect(context.Background(), target{cni: "auto", nodes: "kind"}, io.Discard)
	assert.ErrorContains(t, err, "--nodes kind needs --kind NAME")
	_, err = connect(context.Background(), target{cni: "auto", nodes: "ssh"}, io.Discard)
	assert.ErrorContains(t, err, "--nodes ssh: want kind or agent")
	_, err = connect(context.Background(), target{clusterFlags: clusterFlags{kind: "x"}, cni: "cilium"}, io.Discard)
	assert.ErrorContains(t, err, "--cni cilium: netcert knows flannel and calico")
	_, err = connect(context.Background(), target{clusterFlags: clusterFlags{kind: "x"}, cni: "auto", checks: "ip-forward-off,mtu"}, io.Discard)
	assert.EqualError(t, err, `--checks: no check "mtu" (known: `+strings.Join(problemIDs(doctor.Problems()), ", ")+`)`)

	picked, err := selectProblems(doctor.Problems(), " coredns-forward-broken , ip-forward-off")
	require.NoError(t, err)
	assert.Equal(t, []string{"coredns-forward-broken", "ip-forward-off"}, problemIDs(picked))
}

func TestDetectCNI(t *testing.T) {
	ds := func(ns, name string) runtime.Object {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	for want, objs := range map[string][]runtime.Object{
		"calico":  {ds("kube-system", "calico-node"), ds("kube-system", "kube-proxy")},
		"flannel": {ds("kube-flannel", "kube-flannel-ds"), ds("kube-system", "kube-proxy")},
	} {
		got, err := detectCNI(context.Background(), fake.NewClientset(objs...))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := detectCNI(context.Background(), fake.NewClientset(ds("kube-system", "kindnet"), ds("kube-system", "kube-proxy")))
	assert.EqualError(t, err, "cannot tell the CNI: no calico-node or flannel DaemonSet among kube-system/kindnet, kube-system/kube-proxy; netcert knows Flannel and Calico (pass --cni to say which)")
	_, err = detectCNI(context.Background(), fake.NewClientset(ds("kube-system", "calico-node"), ds("kube-flannel", "kube-flannel-ds")))
	assert.ErrorContains(t, err, "both Calico and Flannel")
}

func TestSnapshotSaysWhyItCannot(t *testing.T) {
	code, _, errOut := cli(t, nil, "snapshot", "--kind", "x")
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "netcert snapshot: no Kubernetes client: cannot read the CoreDNS Corefile")
}

// After Ctrl-C (a cancelled context) the session still releases what it started: the run's
// agent is removed with a context of its own.
func TestSessionReleasesAfterCtrlC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var released error
	called := false
	s := &session{release: func(rctx context.Context) error {
		called = true
		released = rctx.Err()
		_, hasDeadline := rctx.Deadline()
		assert.True(t, hasDeadline, "the removal is bounded")
		return nil
	}}
	s.close(ctx, io.Discard)
	assert.True(t, called)
	assert.NoError(t, released, "the release's context is not the cancelled one")
}
