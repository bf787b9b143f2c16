package doctor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
)

// subnetEnv is what flanneld writes on a node whose lease is subnet (the gateway's prefix).
func subnetEnv(subnet string) string {
	return "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=" + subnet + "\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
}

// subnetCluster is w1 (podCIDR 10.244.1.0/24) and w2 (10.244.2.0/24) on Flannel, whose files say
// env1 and env2 ("" for a missing file), with a kube-flannel pod on w1.
func subnetCluster(env1, env2 string) (*Cluster, *fake.Clientset, []*node.Fake) {
	var nodes []*node.Fake
	for _, env := range []string{env1, env2} {
		n := node.NewFake("w" + string(rune('1'+len(nodes))))
		if env == "" {
			n.Handle("cat "+flannelSubnetFile, func([]string) (string, int) { return "", 1 })
		} else {
			n.Reply("cat "+flannelSubnetFile, env)
		}
		nodes = append(nodes, n)
	}
	c := bridgeCluster(&bridgeHost{Fake: nodes[0]}, &bridgeHost{Fake: nodes[1]})
	c.CNI = "flannel"
	cs := c.Client.(*fake.Clientset)
	_, _ = cs.CoreV1().Pods("kube-flannel").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-flannel-ds-abc", Namespace: "kube-flannel",
		Labels: map[string]string{"app": "flannel"}}, Spec: corev1.PodSpec{NodeName: "w1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}, metav1.CreateOptions{})
	return c, cs, nodes
}

func TestFlannelSubnetStaleQuiet(t *testing.T) {
	c, _, _ := subnetCluster(subnetEnv("10.244.1.1/24"), subnetEnv("10.244.2.1/24"))
	findings, err := FlannelSubnetStale{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Len(t, findings, 2)
	for _, f := range findings {
		assert.Equal(t, Pass, f.Status, "%s", f)
	}
	assert.Equal(t, "FLANNEL_SUBNET=10.244.1.1/24 is the node's podCIDR 10.244.1.0/24", findings[0].Summary)
	plan, err := FlannelSubnetStale{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())

	c.CNI = "calico"
	findings, err = FlannelSubnetStale{}.Run(t.Context(), c)
	require.NoError(t, err)
	assert.Equal(t, NotApplicable, findings[0].Status)
}

// A subnet from another range, another node's, a missing file and a file without the key all
// fire on that node only; the plan restarts kube-flannel there.
func TestFlannelSubnetStaleFires(t *testing.T) {
	for name, tc := range map[string]struct{ env, says string }{
		"a subnet outside the network": {subnetEnv("10.244.250.1/24"), "says FLANNEL_SUBNET=10.244.250.1/24 but the node's lease (podCIDR) is 10.244.1.0/24"},
		"another node's subnet":        {subnetEnv("10.244.2.1/24"), "says FLANNEL_SUBNET=10.244.2.1/24"},
		"a missing file":               {"", "is missing: flanneld has not written the node's subnet"},
		"no FLANNEL_SUBNET":            {"FLANNEL_NETWORK=10.244.0.0/16\n", "holds no valid FLANNEL_SUBNET"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := subnetCluster(tc.env, subnetEnv("10.244.2.1/24"))
			findings, err := FlannelSubnetStale{}.Run(t.Context(), c)
			require.NoError(t, err)
			assert.Equal(t, Fail, findings[0].Status)
			assert.Contains(t, findings[0].Summary, tc.says)
			assert.Equal(t, Pass, findings[1].Status)
			plan, err := FlannelSubnetStale{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1)
			assert.Equal(t, "kube-flannel/kube-flannel-ds-abc", plan.Actions[0].Object)
		})
	}
}

// The repair evicts kube-flannel on the node; the new pod writes the file from the lease.
func TestFlannelSubnetStaleRepairRestartsFlannel(t *testing.T) {
	c, cs, nodes := subnetCluster(subnetEnv("10.244.250.1/24"), subnetEnv("10.244.2.1/24"))
	tracker := cs.Tracker()
	evicted := kpEvictions(cs, func(string) error {
		require.NoError(t, tracker.Delete(corev1.SchemeGroupVersion.WithResource("pods"), "kube-flannel", "kube-flannel-ds-abc"))
		require.NoError(t, tracker.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-flannel-ds-new", Namespace: "kube-flannel",
			Labels: map[string]string{"app": "flannel"}}, Spec: corev1.PodSpec{NodeName: "w1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}))
		nodes[0].Reply("cat "+flannelSubnetFile, subnetEnv("10.244.1.1/24"))
		return nil
	})
	setup := len(cs.Actions())
	findings, err := FlannelSubnetStale{}.Run(t.Context(), c)
	require.NoError(t, err)
	plan, err := FlannelSubnetStale{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	rec, err := FlannelSubnetStale{}.Apply(t.Context(), c, plan)
	require.NoError(t, err)
	assert.Equal(t, []string{"kube-flannel/kube-flannel-ds-abc"}, *evicted)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)
	again, err := FlannelSubnetStale{}.Apply(t.Context(), c, plan)
	require.NoError(t, err)
	assert.False(t, again.Steps[0].Changed, "the file agrees: nothing is restarted")
	assert.Len(t, *evicted, 1)
	assert.Empty(t, kubetest.Disallowed(t, cs.Actions()[setup:], "netcert-doctor", "netcert-repair"), "fixtures/netcert-rbac.yaml allows what the repair calls")
}
