package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/traffic"
)

// pathSender fails the cases whose name contains one of fail; it sends nothing.
type pathSender struct {
	fail     []string
	external bool
	err      error
	mu       sync.Mutex
	sent     []traffic.Case
}

func (s *pathSender) External() bool       { return s.external }
func (s *pathSender) ExternalAddr() string { return "" }
func (s *pathSender) Send(_ context.Context, c traffic.Case) (traffic.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, c)
	for _, f := range s.fail {
		if strings.Contains(c.Name, f) {
			return traffic.Result{Error: "timeout after 2s", Source: "pod " + c.From.Name, Output: `{"ok":false}`}, s.err
		}
	}
	return traffic.Result{OK: true, Source: "pod " + c.From.Name}, s.err
}

func probeCluster(nodes ...string) *fake.Clientset {
	cs := fake.NewClientset(append(kubetest.ProbeServices(),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: traffic.NodePortService, Namespace: traffic.Namespace},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 31080}}}})...)
	for i, n := range nodes {
		_, _ = cs.CoreV1().Nodes().Create(context.Background(), apiNode(n, "172.18.0."+string(rune('2'+i))), metav1.CreateOptions{})
		for _, set := range []string{"a", "b"} {
			_, _ = cs.CoreV1().Pods(traffic.Namespace).Create(context.Background(), &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "probe-" + set + "-" + n, Namespace: traffic.Namespace,
					Labels: map[string]string{"app.kubernetes.io/name": "netcert-probe", "netcert.io/probe-set": set}},
				Spec:   corev1.PodSpec{NodeName: n},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244." + string(rune('0'+i)) + "." + map[string]string{"a": "10", "b": "11"}[set]},
			}, metav1.CreateOptions{})
		}
	}
	return cs
}

func TestTrafficPathBrokenQuietWhenEveryPathCarries(t *testing.T) {
	s := &pathSender{external: true}
	c := &Cluster{Client: probeCluster("cp", "w1", "w2"), Traffic: s}
	findings, err := TrafficPathBroken{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, Pass, findings[0].Status)
	assert.Equal(t, "real traffic passes: container-to-container 3, pod-to-pod/same-node 6, pod-to-pod/cross-node 12, pod-to-pod/full-mtu 9, pod-to-service/cluster-ip 3, pod-to-service/same-node 3, pod-to-service/hairpin 3, external-to-nodeport 3 case(s)", findings[0].Summary)
	paths := map[string]bool{}
	for _, c := range s.sent {
		paths[c.Path] = true
	}
	assert.Len(t, paths, len(traffic.CorePaths), "every core path is sent")
	plan, err := TrafficPathBroken{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestTrafficPathBrokenFailsEveryBrokenCaseWithItsPath(t *testing.T) {
	s := &pathSender{fail: []string{"w1/a -> w2/a", "outside -> w2 "}, external: true}
	c := &Cluster{Client: probeCluster("cp", "w1", "w2"), Traffic: s}
	findings, err := TrafficPathBroken{}.Run(t.Context(), c)
	require.NoError(t, err)
	var failed []string
	for _, f := range Failed(findings) {
		failed = append(failed, f.Path+" "+f.Object+" crosses "+strings.Join(f.Crosses, ","))
		assert.Contains(t, f.Summary, "fails: timeout after 2s")
		assert.NotEmpty(t, f.Evidence)
	}
	assert.Equal(t, []string{
		"pod-to-pod/cross-node w1/a -> w2/a http crosses w1,w2",
		"pod-to-pod/cross-node w1/a -> w2/a udp crosses w1,w2",
		"pod-to-pod/full-mtu w1/a -> w2/a udp full-mtu crosses w1,w2",
		"external-to-nodeport outside -> w2 nodeport 31080 http crosses w2,cp,w1",
	}, failed)
	assert.Equal(t, []string{"netcert-system/netcert-probe-nodeport"}, Failed(findings)[3].Services)
	plan, err := TrafficPathBroken{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Manual, 1, "nothing explains them and no rule counted them: one step for a person")
	assert.Contains(t, plan.Manual[0], "4 failing case(s) (pod-to-pod/cross-node w1/a -> w2/a http, pod-to-pod/cross-node w1/a -> w2/a udp, pod-to-pod/full-mtu w1/a -> w2/a udp full-mtu, external-to-nodeport outside -> w2 nodeport 31080 http) no rule counted them")
	_, err = TrafficPathBroken{}.Apply(t.Context(), c, plan)
	assert.ErrorContains(t, err, "not applied automatically")

	explained := Explain(append(findings, Finding{Check: "ip-forward-off", Node: "w2", Status: Fail}))
	plan, err = TrafficPathBroken{}.Plan(t.Context(), c, explained)
	require.NoError(t, err)
	assert.True(t, plan.Empty(), "a consequence is repaired through its cause, never on its own")
}

func TestTrafficPathBrokenCannotEvaluateWithoutProbes(t *testing.T) {
	_, err := TrafficPathBroken{}.Run(t.Context(), &Cluster{Client: probeCluster("cp")})
	assert.ErrorContains(t, err, "needs live probes")
	_, err = TrafficPathBroken{}.Run(t.Context(), &Cluster{Client: probeCluster(), Traffic: &pathSender{}})
	assert.ErrorContains(t, err, "no running netcert probe pod in netcert-system: `netcert probes install` runs them")
	_, err = TrafficPathBroken{}.Run(t.Context(), &Cluster{Client: probeCluster("cp"), Traffic: &pathSender{err: errors.New("exec refused")}})
	assert.ErrorContains(t, err, "exec refused", "a probe that cannot be sent is never a pass")

	findings, err := TrafficPathBroken{}.Run(t.Context(), &Cluster{Client: probeCluster("cp"), Traffic: &pathSender{}})
	require.NoError(t, err)
	assert.Equal(t, NotApplicable, findings[0].Status, "no outside host: the NodePort path is said not probed")
}

// A drop of any shape on a node the failing path crosses is named by its counters: the rule that
// counts the re-sent cases, not the one that counts as much with nothing sent.
func TestTrafficPathBrokenLocatesTheDropByItsCounters(t *testing.T) {
	idle := dropIdleWindow
	dropIdleWindow = 0
	t.Cleanup(func() { dropIdleWindow = idle })
	dropped, reads := 0, 0
	w2 := node.NewFake("w2").Reply("iptables-nft-save -c", "").Reply("nft", "").
		Handle("iptables-legacy-save -c", func([]string) (string, int) {
			reads++
			return fmt.Sprintf("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"+
				"[%d:0] -A FORWARD -d 10.244.2.0/24 -m comment --comment \"lockdown\" -j DROP\n"+
				"[%d:0] -A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n", dropped, 7*reads), 0
		})
	s := &countingSender{pathSender: pathSender{fail: []string{"w1/a -> w2/a"}}, onFail: func() { dropped++ }}
	c := &Cluster{Client: probeCluster("w1", "w2"), Traffic: s, Nodes: []node.Node{node.NewFake("w1"), w2}}
	findings, err := Sweep(t.Context(), c, []Check{TrafficPathBroken{}})
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 3)
	for _, f := range failed {
		assert.Contains(t, f.Summary, "dropped on w2 by iptables-legacy filter FORWARD #1 `-A FORWARD -d 10.244.2.0/24 -m comment --comment \"lockdown\" -j DROP`")
		assert.NotContains(t, f.Summary, "INVALID", "it counts as much with nothing sent")
		assert.Contains(t, f.Evidence[len(f.Evidence)-1].Output, "packets +3 while the 3 failing case(s) were sent again, then +0 in 0s with nothing sent (located by packet counters, no packet trace)")
	}
	assert.Contains(t, c.Nodes[0].(*node.Fake).Calls(), "iptables-legacy-save -c", "every node the path crosses is read")
	plan, err := TrafficPathBroken{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Manual, 1, "one step per rule")
	assert.Contains(t, plan.Manual[0], "3 failing case(s) (pod-to-pod/cross-node w1/a -> w2/a http, pod-to-pod/cross-node w1/a -> w2/a udp, pod-to-pod/full-mtu w1/a -> w2/a udp full-mtu) dropped on w2 by iptables-legacy filter FORWARD #1")
	assert.Contains(t, plan.Manual[0], "allow that traffic ahead of the rule, or remove the rule if nothing needs it")
}

// nodeCause is a check that fails one node's own state.
type nodeCause struct{ node string }

func (n nodeCause) ID() string { return "ip-forward-off" }
func (n nodeCause) Run(context.Context, *Cluster) ([]Finding, error) {
	return []Finding{{Check: n.ID(), Node: n.node, Status: Fail, Summary: "net.ipv4.ip_forward is 0"}}, nil
}

func TestASweepSearchesNoCountersForFailuresItsChecksExplain(t *testing.T) {
	w2 := node.NewFake("w2")
	c := &Cluster{Client: probeCluster("w1", "w2"), Traffic: &pathSender{fail: []string{"w1/a -> w2/a"}}, Nodes: []node.Node{node.NewFake("w1"), w2}}
	findings, err := Sweep(t.Context(), c, []Check{nodeCause{"w2"}, TrafficPathBroken{}})
	require.NoError(t, err)
	failed := Failed(findings)
	require.Len(t, failed, 4)
	assert.Equal(t, "ip-forward-off", failed[0].Check)
	for _, f := range failed[1:] {
		assert.NotEmpty(t, f.CausedBy, "%s", f)
		assert.NotContains(t, f.Summary, "dropped")
	}
	assert.Empty(t, w2.Calls(), "a named cause needs no counter watch")
}

// onceSender fails its failing cases the first time only.
type onceSender struct {
	pathSender
	failedOnce map[string]bool
}

func (s *onceSender) Send(ctx context.Context, c traffic.Case) (traffic.Result, error) {
	r, err := s.pathSender.Send(ctx, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.OK && s.failedOnce[c.Path+c.Name] {
		return traffic.Result{OK: true, Source: "pod " + c.From.Name}, err
	}
	s.failedOnce[c.Path+c.Name] = true
	return r, err
}

func TestASweepCallsACaseThatPassesWhenSentAgainTransient(t *testing.T) {
	idle := dropIdleWindow
	dropIdleWindow = 0
	t.Cleanup(func() { dropIdleWindow = idle })
	s := &onceSender{pathSender: pathSender{fail: []string{"w1/a -> w2/a udp"}}, failedOnce: map[string]bool{}}
	c := &Cluster{Client: probeCluster("w1", "w2"), Traffic: s, Nodes: []node.Node{node.NewFake("w1"), node.NewFake("w2")}}
	findings, err := Sweep(t.Context(), c, []Check{TrafficPathBroken{}})
	require.NoError(t, err)
	assert.Empty(t, Failed(findings), "lost once, carried when sent again: no broken path")
	var warned int
	for _, f := range findings {
		if f.Status == Warn {
			warned++
			assert.Contains(t, f.Summary, "failed once, then passed each of the 5 times it was sent again: transient")
		}
	}
	assert.Equal(t, 2, warned, "the udp case and the full-MTU one, each a Warn: not healthy either")
}

// patternSender loses its failing cases on the sends where lose says so (the nth send of each
// case, counting from 1), and carries them on the others: a path that drops some packets.
type patternSender struct {
	pathSender
	lose  func(n int) bool
	sends map[string]int
}

func (s *patternSender) Send(ctx context.Context, c traffic.Case) (traffic.Result, error) {
	r, err := s.pathSender.Send(ctx, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends[c.Path+c.Name]++
	if !r.OK && !s.lose(s.sends[c.Path+c.Name]) {
		return traffic.Result{OK: true, Source: "pod " + c.From.Name}, err
	}
	return r, err
}

func TestASweepKeepsAPathThatDropsSomePacketsFailing(t *testing.T) {
	idle := dropIdleWindow
	dropIdleWindow = 0
	t.Cleanup(func() { dropIdleWindow = idle })
	for name, lose := range map[string]func(int) bool{
		"every other send":                   func(n int) bool { return n%2 == 1 },
		"the first, then the fourth":         func(n int) bool { return n == 1 || n == 4 },
		"the first, then the last re-send":   func(n int) bool { return n == 1 || n == 1+resends },
		"one in three, starting with a loss": func(n int) bool { return n%3 == 1 },
	} {
		s := &patternSender{pathSender: pathSender{fail: []string{"w1/a -> w2/a udp"}}, lose: lose, sends: map[string]int{}}
		c := &Cluster{Client: probeCluster("w1", "w2"), Traffic: s, Nodes: []node.Node{node.NewFake("w1"), node.NewFake("w2")}}
		findings, err := Sweep(t.Context(), c, []Check{TrafficPathBroken{}})
		require.NoError(t, err)
		failed := Failed(findings)
		require.Len(t, failed, 2, "%s: the udp case and the full-MTU one stay broken", name)
		for _, f := range failed {
			assert.Contains(t, f.Summary, "then failed again (send", name)
			assert.Contains(t, f.Summary, "the path drops some packets, not all", name)
		}
	}
}

// countingSender calls onFail for every failing case it sends.
type countingSender struct {
	pathSender
	onFail func()
}

func (s *countingSender) Send(ctx context.Context, c traffic.Case) (traffic.Result, error) {
	r, err := s.pathSender.Send(ctx, c)
	if !r.OK {
		s.mu.Lock()
		s.onFail()
		s.mu.Unlock()
	}
	return r, err
}

func TestConcludeSaysWhyItCannotLocateAFindingFromElsewhere(t *testing.T) {
	s := &pathSender{}
	c := &Cluster{Client: probeCluster("w1", "w2"), Traffic: s, Nodes: []node.Node{node.NewFake("w1"), node.NewFake("w2")}}
	read := Finding{Check: TrafficPathBroken{}.ID(), Status: Fail, Path: traffic.PodToPodCrossNode, Object: "w1/a -> w2/a udp", Crosses: []string{"w1", "w2"}}
	out := Conclude(t.Context(), c, []Finding{read})
	require.Len(t, out, 1)
	assert.Equal(t, Fail, out[0].Status, "never healthy for want of a case")
	assert.Contains(t, out[0].Evidence[0].Output, "could not locate the drop: the finding is not from a sweep of this run")
	assert.Empty(t, s.sent, "nothing sent for it")
	assert.Empty(t, read.Evidence, "the input is not changed")
}

// brokenAfterSender fails its failing cases once, carries them on the next sends, and cannot
// send at all from its limit-th send of a case on.
type brokenAfterSender struct {
	patternSender
	limit int
}

func (s *brokenAfterSender) Send(ctx context.Context, c traffic.Case) (traffic.Result, error) {
	r, err := s.patternSender.Send(ctx, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sends[c.Path+c.Name] >= s.limit {
		return traffic.Result{}, errors.New("exec: the API server went away")
	}
	return r, err
}

func TestATransientCaseSaysHowOftenItWasReallySentAgain(t *testing.T) {
	idle := dropIdleWindow
	dropIdleWindow = 0
	t.Cleanup(func() { dropIdleWindow = idle })
	s := &brokenAfterSender{patternSender: patternSender{pathSender: pathSender{fail: []string{"w1/a -> w2/a udp"}},
		lose: func(n int) bool { return n == 1 }, sends: map[string]int{}}, limit: 4}
	c := &Cluster{Client: probeCluster("w1", "w2"), Traffic: s, Nodes: []node.Node{node.NewFake("w1"), node.NewFake("w2")}}
	findings, err := Sweep(t.Context(), c, []Check{TrafficPathBroken{}})
	require.NoError(t, err)
	var warned int
	for _, f := range findings {
		if f.Status == Warn {
			warned++
			assert.Contains(t, f.Summary, "failed once, then passed each of the 2 times it was sent again", "sends 2 and 3 passed, the 4th could not be made")
		}
	}
	assert.Equal(t, 2, warned)
}
