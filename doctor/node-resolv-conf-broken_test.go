package doctor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/node"
)

// kubeletResolv is kubeletResolvConfScript's output for a kubelet with the default path whose
// file holds body ("missing": no file).
func kubeletResolv(body string) string {
	if body == "missing" {
		return "path /etc/resolv.conf (the kubelet's default)\nmissing\n"
	}
	return "path /etc/resolv.conf (the kubelet's default)\n---\n" + body
}

// resolvCluster is w1 and w2, whose kubelets' resolv.conf hold body1 and body2, with a CoreDNS
// pod (DNS policy Default) on w1 that crash-loops, and CoreDNS forwarding to target.
func resolvCluster(t *testing.T, target, body1, body2 string) (*Cluster, *fake.Clientset) {
	t.Helper()
	c, cs, _ := corednsCluster(t, hermeticCorefile(t, target))
	for i, body := range []string{body1, body2} {
		n := node.NewFake("w" + string(rune('1'+i)))
		n.Reply("sh -c "+kubeletResolvConfScript, kubeletResolv(body))
		c.Nodes = append(c.Nodes, n)
	}
	_, err := cs.CoreV1().Pods("kube-system").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns-1", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec:       corev1.PodSpec{NodeName: "w1", DNSPolicy: corev1.DNSDefault},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return c, cs
}

const healthyResolv = "# written by DHCP\nsearch example.internal\nnameserver 172.18.0.1\noptions ndots:0\n"

func TestNodeResolvConfBrokenFiresOnEveryBrokenShape(t *testing.T) {
	for name, tc := range map[string]struct{ body, says string }{
		"empty":          {"", "/etc/resolv.conf holds no nameserver"},
		"comments only":  {"# nothing here\nsearch cluster.local\noptions ndots:5\n", "/etc/resolv.conf holds no nameserver"},
		"missing":        {"missing", "/etc/resolv.conf is missing"},
		"a stub's":       {"nameserver 127.0.0.53\noptions edns0 trust-ad\n", "only nameservers (127.0.0.53) are loopback"},
		"ipv6 loopback":  {"nameserver ::1\n", "only nameservers (::1) are loopback"},
		"garbage server": {"nameserver\n", "holds no nameserver"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := resolvCluster(t, "/etc/resolv.conf", tc.body, healthyResolv)
			findings, err := NodeResolvConfBroken{}.Run(t.Context(), c)
			require.NoError(t, err)
			require.Len(t, findings, 2)
			f := findings[0]
			assert.Equal(t, Fail, f.Status, "%s", f)
			assert.Equal(t, "w1", f.Node)
			assert.Contains(t, f.Summary, tc.says)
			assert.Contains(t, f.Summary, "CoreDNS forwards . to /etc/resolv.conf")
			assert.Contains(t, f.Summary, "coredns-1: CrashLoopBackOff, 3 restart(s)")
			assert.Contains(t, f.Summary, `last words: "fake logs"`, "the crash explained by the container's last log line")
			assert.Equal(t, Pass, findings[1].Status, "%s", findings[1])

			plan, err := NodeResolvConfBroken{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			assert.Empty(t, plan.Actions)
			require.NotEmpty(t, plan.Manual)
			assert.Contains(t, plan.Manual[0], "on node w1, write the node's DNS servers into /etc/resolv.conf (node w2's: /etc/resolv.conf (the kubelet's default) names nameserver(s) 172.18.0.1)")
			assert.Contains(t, plan.Manual[1], "rollout restart deployment/coredns")
			_, err = NodeResolvConfBroken{}.Apply(t.Context(), c, plan)
			assert.ErrorContains(t, err, "not applied automatically")
		})
	}
}

func TestNodeResolvConfBrokenQuiet(t *testing.T) {
	for name, body := range map[string]string{
		"one server":                 healthyResolv,
		"a loopback beside a server": "nameserver 127.0.0.53\nnameserver 10.0.0.2\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := resolvCluster(t, "/etc/resolv.conf", body, healthyResolv)
			findings, err := NodeResolvConfBroken{}.Run(t.Context(), c)
			require.NoError(t, err)
			for _, f := range findings {
				assert.Equal(t, Pass, f.Status, "%s", f)
			}
			plan, err := NodeResolvConfBroken{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			assert.True(t, plan.Empty())
		})
	}
}

// A broken file CoreDNS does not read is a Warn: other pods and the node still lose their resolver.
func TestNodeResolvConfBrokenWarnsWhenCoreDNSDoesNotReadIt(t *testing.T) {
	c, _ := resolvCluster(t, corednsLiveUpstream, "", healthyResolv)
	findings, err := NodeResolvConfBroken{}.Run(t.Context(), c)
	require.NoError(t, err)
	assert.Equal(t, Warn, findings[0].Status, "%s", findings[0])
	assert.Contains(t, findings[0].Summary, "pods of DNS policy Default, host-network pods and the node's own lookups there get no resolver")
	assert.Equal(t, Pass, findings[1].Status)
}

// Where no CoreDNS pod runs, a broken file still fails: a CoreDNS pod scheduled there cannot start.
func TestNodeResolvConfBrokenNamesNodesWithoutCoreDNS(t *testing.T) {
	c, _ := resolvCluster(t, "/etc/resolv.conf", healthyResolv, "")
	findings, err := NodeResolvConfBroken{}.Run(t.Context(), c)
	require.NoError(t, err)
	assert.Equal(t, Pass, findings[0].Status)
	assert.Equal(t, Fail, findings[1].Status)
	assert.Contains(t, findings[1].Summary, "no CoreDNS pod runs on the node now; one scheduled here cannot start its forward plugin")
}

func TestParseResolvConfFromTheKubeletsConfig(t *testing.T) {
	rc, err := parseResolvConf("path /run/systemd/resolve/resolv.conf (resolvConf in /var/lib/kubelet/config.yaml)\n---\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n")
	require.NoError(t, err)
	assert.Equal(t, "/run/systemd/resolve/resolv.conf", rc.path)
	assert.Equal(t, "resolvConf in /var/lib/kubelet/config.yaml", rc.from)
	assert.Equal(t, []string{"10.0.0.2", "10.0.0.3"}, rc.nameservers)
	assert.Empty(t, rc.problem())
	_, err = parseResolvConf("sh: 1: awk: not found\n")
	assert.ErrorContains(t, err, "unexpected output")
}
