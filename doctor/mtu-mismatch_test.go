package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// Healthy Flannel and Calico workers: pods at the overlay's 1450, the overlay 50 under eth0.
func TestMTUMismatchQuietOnHealthyNodes(t *testing.T) {
	c := bridgeCluster(flannelWorker("w1"), calicoWorker("w2"))
	findings, err := MTUMismatch{}.Run(t.Context(), c)
	require.NoError(t, err)
	require.Len(t, findings, 2)
	for _, f := range findings {
		assert.Equal(t, Pass, f.Status, "%s", f)
	}
	assert.Contains(t, findings[0].Summary, "2 pod interface(s) within flannel.1's MTU 1450")
	assert.Contains(t, findings[1].Summary, "within vxlan.calico's MTU 1450")
	plan, err := MTUMismatch{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

// A node without an overlay (host routes) and with matching veth ends passes.
func TestMTUMismatchQuietWithoutOverlay(t *testing.T) {
	h := calicoWorker("w1")
	h.links = append(h.links[:1], h.links[2:]...)
	h.pods[0].mtu = 1500
	h.link("cali0123456789a").mtu = 1500
	findings, err := MTUMismatch{}.Run(t.Context(), bridgeCluster(h))
	require.NoError(t, err)
	assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
}

// mtuShapes are the states that break full-size packets, each with what the finding must say.
var mtuShapes = []struct {
	name   string
	inject func(h *bridgeHost)
	says   string
}{
	{"a pod and its veth at 1500 on a 1450 overlay (a CNI config's wrong MTU)", func(h *bridgeHost) {
		h.pods[0].mtu = 1500
		h.link("veth1a").mtu = 1500
	}, "pod default/web: eth0 has MTU 1500, above flannel.1's 1450"},
	{"only the pod's eth0 raised: its veth's host end drops what it sends", func(h *bridgeHost) {
		h.pods[1].mtu = 9000
	}, "netns cni-1b: eth0 has MTU 9000, above flannel.1's 1450"},
	{"the pod lowered below its veth: the veth end sends it what it drops", func(h *bridgeHost) {
		h.pods[0].mtu = 1400
	}, "its veth's host end veth1a has MTU 1450, above the pod's eth0's 1400"},
	{"the node network lowered under the overlay", func(h *bridgeHost) {
		h.link("eth0").mtu = 1400
	}, "flannel.1 (vxlan) has MTU 1450: with the 50 bytes vxlan adds, its packets need 1500 on eth0, which has 1400"},
	{"the overlay raised to the node network's MTU", func(h *bridgeHost) {
		h.link("flannel.1").mtu = 1500
	}, "its packets need 1550 on eth0, which has 1500"},
}

// Every shape fires on the node that has it and nowhere else; the plan lowers what a pod holds,
// leaves the overlay to a person; applied, the node passes and a second plan is empty.
func TestMTUMismatchFiresOnEveryShape(t *testing.T) {
	for _, shape := range mtuShapes {
		t.Run(shape.name, func(t *testing.T) {
			ctx := context.Background()
			broken := flannelWorker("w1")
			shape.inject(broken)
			c := bridgeCluster(broken, flannelWorker("w2"))
			_, err := c.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
				Spec: corev1.PodSpec{NodeName: "w1"}, Status: corev1.PodStatus{PodIP: "10.244.1.10"}}, metav1.CreateOptions{})
			require.NoError(t, err)
			findings, err := MTUMismatch{}.Run(ctx, c)
			require.NoError(t, err)
			require.Len(t, findings, 2)
			assert.Equal(t, Fail, findings[0].Status, "%s", findings[0])
			assert.Contains(t, findings[0].Summary, shape.says)
			assert.Equal(t, Pass, findings[1].Status, "%s", findings[1])
			plan, err := MTUMismatch{}.Plan(ctx, c, findings)
			require.NoError(t, err)
			if len(plan.Manual) > 0 {
				assert.Empty(t, plan.Actions, "the overlay's MTU is a person's decision")
				assert.Contains(t, plan.Manual[0], "w1: flannel.1 (vxlan)")
				return
			}
			require.Len(t, plan.Actions, 1)
			_, err = MTUMismatch{}.Apply(ctx, c, plan)
			require.NoError(t, err)
			findings, err = MTUMismatch{}.Run(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, Pass, findings[0].Status, "%s", findings[0])
			plan, err = MTUMismatch{}.Plan(ctx, c, findings)
			require.NoError(t, err)
			assert.True(t, plan.Empty())
		})
	}
}

// The plan lowers a raised pod and its veth to the overlay's MTU, inside the pod's namespace.
func TestMTUMismatchPlanLowersToTheOverlay(t *testing.T) {
	h := flannelWorker("w1")
	h.pods[0].mtu = 1500
	h.link("veth1a").mtu = 1500
	c := bridgeCluster(h)
	findings, err := MTUMismatch{}.Run(t.Context(), c)
	require.NoError(t, err)
	plan, err := MTUMismatch{}.Plan(t.Context(), c, findings)
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	assert.Equal(t, [][]string{{"ip", "-n", "cni-1a", "link", "set", "dev", "eth0", "mtu", "1450"},
		{"ip", "link", "set", "dev", "veth1a", "mtu", "1450"}}, plan.Actions[0].Argv)
	assert.Contains(t, plan.Actions[0].Summary, "cni-1a/eth0 1500→1450, veth1a 1500→1450")
}

// A real kind worker's pod namespaces, as podNetnsScript prints them.
func TestParsePodNetnsReadsARealCapture(t *testing.T) {
	pods, err := parsePodNetns(captures.Read(t, "iproute", "flannel-worker-netns.txt"), nil)
	require.NoError(t, err)
	require.Len(t, pods, 2)
	for _, p := range pods {
		assert.True(t, strings.HasPrefix(p.name, "cni-"), p.name)
		assert.Equal(t, 1450, p.eth0.MTU)
		assert.Positive(t, p.eth0.PeerIndex)
		assert.True(t, strings.HasPrefix(p.ip.String(), "10.244."), p.ip.String())
	}
}
