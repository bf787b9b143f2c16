package certify

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/reports"
	"github.com/netcert/netcert/traffic"
)

// forwardCheck fails while the node's ip_forward is 0.
type forwardCheck struct{ value *string }

func (forwardCheck) ID() string { return "ip-forward-off" }
func (p forwardCheck) Run(context.Context, *doctor.Cluster) ([]doctor.Finding, error) {
	status := doctor.Pass
	if *p.value == "0" {
		status = doctor.Fail
	}
	return []doctor.Finding{{Check: p.ID(), Node: "w1", Status: status, Summary: "ip_forward is " + *p.value}}, nil
}
func (p forwardCheck) Plan(context.Context, *doctor.Cluster, []doctor.Finding) (doctor.Plan, error) {
	return doctor.Plan{Check: p.ID()}, nil
}
func (p forwardCheck) Apply(context.Context, *doctor.Cluster, doctor.Plan) (doctor.Record, error) {
	return doctor.Record{}, nil
}

// forwardingSender fails cross-node traffic while ip_forward is 0.
type forwardingSender struct{ value *string }

func (s forwardingSender) Send(_ context.Context, c traffic.Case) (traffic.Result, error) {
	if *s.value == "0" && c.Path == traffic.PodToPodCrossNode {
		return traffic.Result{Error: "timeout"}, nil
	}
	return traffic.Result{OK: true}, nil
}
func (forwardingSender) External() bool       { return false }
func (forwardingSender) ExternalAddr() string { return "" }

// probeCluster is a two-node cluster with probe pods, whose w1 answers sysctl and the journal.
func probeCluster(value *string) (*doctor.Cluster, *faults.Cluster) {
	pod := func(name, nodeName, set, ip string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: traffic.Namespace, Name: name,
			Labels: map[string]string{"app.kubernetes.io/name": "netcert-probe", "netcert.io/probe-set": set}},
			Spec: corev1.PodSpec{NodeName: nodeName}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
	}
	cs := fake.NewClientset(append(kubetest.ProbeServices(), pod("a1", "w1", "a", "10.244.1.2"), pod("b1", "w1", "b", "10.244.1.3"),
		pod("a2", "w2", "a", "10.244.2.2"), pod("b2", "w2", "b", "10.244.2.3"))...)
	w1 := node.NewFake("w1").
		Handle("sysctl -n net.ipv4.ip_forward", func([]string) (string, int) { return *value + "\n", 0 }).
		Handle("sysctl -w", func(argv []string) (string, int) {
			*value = strings.TrimPrefix(argv[2], "net.ipv4.ip_forward=")
			return "", 0
		}).
		Reply("sh -c", "") // the fault's journal
	nodes := []node.Node{w1, node.NewFake("w2")}
	c := &doctor.Cluster{Nodes: nodes, Client: cs, CNI: "flannel", Traffic: forwardingSender{value}}
	return c, &faults.Cluster{Nodes: nodes, Client: cs, CNI: "flannel"}
}

func TestCertifyAHealthyClusterWithoutTouchingIt(t *testing.T) {
	value := "1"
	c, fc := probeCluster(&value)
	rec := reports.NewRecorder("certify", "flannel")
	require.NoError(t, Run(context.Background(), c, fc, Options{Problems: []doctor.Problem{forwardCheck{&value}}}, rec))
	run := rec.Run()
	assert.Equal(t, reports.StatusPassed, run.Status)
	assert.Equal(t, reports.Passed, run.Cases[ChecksCase].Outcome)
	assert.Equal(t, reports.PathTally{Passed: 4}, run.Cases[TrafficCase].Paths[traffic.PodToPodCrossNode])
	for _, call := range c.Nodes[0].(*node.Fake).Calls() {
		assert.NotContains(t, call, "-w", "no write without --inject: %s", call)
	}
}

// With a fault named and a node allowed: traffic breaks, the doctor names the fault, it is
// reverted, and the cluster is healthy again.
func TestCertifyInjectsOnlyWhereAllowedAndReverts(t *testing.T) {
	value := "1"
	c, fc := probeCluster(&value)
	rec := reports.NewRecorder("certify", "flannel")
	opt := Options{Problems: []doctor.Problem{forwardCheck{&value}}, Inject: []string{"ip-forward-off"}, Nodes: []string{"w1"}}
	require.NoError(t, opt.Validate([]string{"w1", "w2"}))
	require.NoError(t, Run(context.Background(), c, fc, opt, rec))
	run := rec.Run()
	fault := run.Cases["ip-forward-off"]
	assert.Equal(t, reports.Passed, fault.Outcome, "%+v", fault.Steps)
	assert.Equal(t, reports.PathTally{Passed: 0, Failed: 4}, fault.Paths[traffic.PodToPodCrossNode], "the symptom was real")
	assert.NotNil(t, fault.TimeToDetectMS)
	assert.Equal(t, "1", value, "reverted")
	assert.Equal(t, reports.StatusPassed, run.Status)
}

func TestCertifyRefusesInjectionWithoutAllowedNodes(t *testing.T) {
	assert.ErrorContains(t, Options{Inject: []string{"ip-forward-off"}}.Validate([]string{"w1"}), "--allow-nodes")
	assert.ErrorContains(t, Options{Inject: []string{"mtu-mismatch"}, Nodes: []string{"w1"}}.Validate([]string{"w1"}), `cannot inject "mtu-mismatch"`)
	assert.ErrorContains(t, Options{Inject: []string{"ip-forward-off"}, Nodes: []string{"w9"}}.Validate([]string{"w1"}), `no node "w9"`)
	assert.NoError(t, Options{}.Validate(nil))
}

// A cluster that fails before any fault gets none.
func TestCertifyInjectsNothingIntoAnUnhealthyCluster(t *testing.T) {
	value := "0"
	c, fc := probeCluster(&value)
	rec := reports.NewRecorder("certify", "flannel")
	opt := Options{Problems: []doctor.Problem{forwardCheck{&value}}, Inject: []string{"ip-forward-off"}, Nodes: []string{"w1"}}
	require.NoError(t, Run(context.Background(), c, fc, opt, rec))
	run := rec.Run()
	assert.Equal(t, reports.StatusFailed, run.Status)
	assert.Len(t, run.Cases["ip-forward-off"].Steps, 1)
	for _, call := range c.Nodes[0].(*node.Fake).Calls() {
		assert.NotContains(t, call, "sysctl -w")
	}
}
