package faults

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/node"
)

// bridgeFaultNode is a fake Flannel worker for the pod-bridge faults: cni0 holds 10.244.1.1/24,
// the pod 10.244.1.5's veth is vethpod, a port of cni0 in hairpin mode. It records what runs.
func bridgeFaultNode() (*node.Fake, *fakeJournal) {
	n := node.NewFake("w1").
		Reply("ip -4 -o addr show dev cni0", "5: cni0    inet 10.244.1.1/24 brd 10.244.1.255 scope global cni0\\       valid_lft forever\n").
		Handle("sh -c "+vethScript+" netcert-veth", func(argv []string) (string, int) {
			if argv[len(argv)-1] == "10.244.1.5" {
				return "cni-pod vethpod\n", 0
			}
			return "", 1
		}).
		Reply("sh -c "+bridgePortScript, "cni0\n1\n").
		Reply("ip link set", "").
		Reply("ip -n", "").
		Reply("ip addr", "").
		Reply("sh -c", "")
	return n, journalOn(n)
}

func bridgeFaultCluster(n node.Node) *Cluster {
	cs := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe-b-1", Namespace: "netcert-system", Labels: map[string]string{"set": "b"}},
		Spec: corev1.PodSpec{NodeName: "w1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5"}})
	return &Cluster{Nodes: []node.Node{n}, Client: cs, CNI: "flannel"}
}

func TestPodBridgeFaultsInjectJournalAndRevert(t *testing.T) {
	pod := PodOnNode{Node: "w1", Namespace: "netcert-system", Selector: "set=b"}
	for _, tc := range []struct {
		fault      Fault
		change     []string // command lines the injection runs, in order
		undoPhrase string   // in the journaled revert
	}{
		{CNIBridgeDown{Node: "w1"}, []string{"ip link set dev cni0 down"}, "'ip' 'link' 'set' 'dev' 'cni0' 'up'"},
		{CNIBridgeWrongAddress{Node: "w1", Address: "10.244.250.1/24"},
			[]string{"ip addr add 10.244.250.1/24 dev cni0", "ip addr del 10.244.1.1/24 dev cni0"}, "'replace' '10.244.1.1/24'"},
		{VethDetached{Pod: pod}, []string{"ip link set dev vethpod nomaster"}, "'master' 'cni0'"},
		{HairpinOff{Pod: pod}, []string{"ip link set dev vethpod type bridge_slave hairpin off"}, "'hairpin' 'on'"},
	} {
		t.Run(tc.fault.Name(), func(t *testing.T) {
			n, j := bridgeFaultNode()
			assert.True(t, tc.fault.AppliesTo("flannel"))
			assert.False(t, tc.fault.AppliesTo("calico"), "Calico has no pod bridge")
			revert, err := tc.fault.Inject(context.Background(), bridgeFaultCluster(n))
			require.NoError(t, err)
			var changes []string
			for _, call := range n.Calls() {
				if strings.HasPrefix(call, "ip link set") || strings.HasPrefix(call, "ip addr ") {
					changes = append(changes, call)
				}
			}
			assert.Equal(t, tc.change, changes)
			require.Len(t, j.entries, 1, "journaled before the change")
			for _, undo := range j.entries {
				assert.Contains(t, undo, tc.undoPhrase)
			}
			require.NoError(t, revert(context.Background()))
			assert.Empty(t, j.entries, "the revert drops its journal entry")
			assert.True(t, strings.HasPrefix(n.Calls()[len(n.Calls())-2], "sh -c "), "the revert runs the journaled script")
		})
	}
}

func TestPodBridgeFaultsRefuseBadInput(t *testing.T) {
	n, _ := bridgeFaultNode()
	_, err := CNIBridgeWrongAddress{Node: "w1", Address: "fd00::1/64"}.Inject(context.Background(), bridgeFaultCluster(n))
	assert.ErrorContains(t, err, "want an IPv4 address")
	_, err = VethDetached{Pod: PodOnNode{Node: "w1", Namespace: "netcert-system", Selector: "set=c"}}.Inject(context.Background(), bridgeFaultCluster(n))
	assert.ErrorContains(t, err, "no running pod set=c in netcert-system on w1")
	n.Reply("sh -c "+bridgePortScript, "cni0\n0\n")
	_, err = HairpinOff{Pod: PodOnNode{Node: "w1", Namespace: "netcert-system", Selector: "set=b"}}.Inject(context.Background(), bridgeFaultCluster(n))
	assert.ErrorContains(t, err, "hairpin mode off already")
}

// mtu-mismatch raises both ends of the pod's veth, journals how to set them back, and refuses a
// pod already at the MTU.
func TestMTUMismatchInjectsAndReverts(t *testing.T) {
	pod := PodOnNode{Node: "w1", Namespace: "netcert-system", Selector: "set=b"}
	n, j := bridgeFaultNode()
	n.Reply("sh -c "+mtuScript+" netcert-mtu cni-pod vethpod", "1450\n1450\n")
	f := MTUMismatch{Pod: pod, MTU: 1500}
	assert.True(t, f.AppliesTo("calico"))
	revert, err := f.Inject(context.Background(), bridgeFaultCluster(n))
	require.NoError(t, err)
	assert.Contains(t, n.Calls(), "ip link set dev vethpod mtu 1500")
	assert.Contains(t, n.Calls(), "ip -n cni-pod link set dev eth0 mtu 1500")
	require.Len(t, j.entries, 1)
	for _, undo := range j.entries {
		assert.Equal(t, "if [ -e '/var/run/netns/cni-pod' ]; then 'ip' '-n' 'cni-pod' 'link' 'set' 'dev' 'eth0' 'mtu' '1450' && 'ip' 'link' 'set' 'dev' 'vethpod' 'mtu' '1450'; fi", undo)
	}
	require.NoError(t, revert(context.Background()))
	assert.Empty(t, j.entries)

	_, err = MTUMismatch{Pod: pod, MTU: 1450}.Inject(context.Background(), bridgeFaultCluster(n))
	assert.ErrorContains(t, err, "has MTU 1450 already")
}

// mtu-mismatch's node-network shape lowers the device and journals setting it back.
func TestMTUMismatchLowersANodeDevice(t *testing.T) {
	n, j := bridgeFaultNode()
	n.Reply("cat /sys/class/net/eth0/mtu", "1500\n")
	revert, err := MTUMismatch{Node: "w1", Device: "eth0", MTU: 1400}.Inject(context.Background(), bridgeFaultCluster(n))
	require.NoError(t, err)
	assert.Contains(t, n.Calls(), "ip link set dev eth0 mtu 1400")
	for _, undo := range j.entries {
		assert.Equal(t, "'ip' 'link' 'set' 'dev' 'eth0' 'mtu' '1500'", undo)
	}
	require.NoError(t, revert(context.Background()))
	_, err = MTUMismatch{Node: "w1", Device: "eth0", MTU: 1500}.Inject(context.Background(), bridgeFaultCluster(n))
	assert.ErrorContains(t, err, "has MTU 1500 already")
}

// flannel-subnet-stale rewrites the subnet line and journals the file as it was.
func TestFlannelSubnetStaleInjectsAndReverts(t *testing.T) {
	n, j := bridgeFaultNode()
	n.Reply("cat "+FlannelSubnetFile, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n")
	n.Reply("sed", "")
	f := FlannelSubnetStale{Node: "w1", Subnet: "10.244.250.1/24"}
	assert.False(t, f.AppliesTo("calico"))
	revert, err := f.Inject(context.Background(), bridgeFaultCluster(n))
	require.NoError(t, err)
	assert.Contains(t, n.Calls(), "sed -i s|^FLANNEL_SUBNET=.*|FLANNEL_SUBNET=10.244.250.1/24| "+FlannelSubnetFile)
	for _, undo := range j.entries {
		assert.Equal(t, "printf '%s\\n' 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24' > "+FlannelSubnetFile, undo)
	}
	require.NoError(t, revert(context.Background()))
	_, err = FlannelSubnetStale{Node: "w1", Subnet: "bad"}.Inject(context.Background(), bridgeFaultCluster(n))
	assert.ErrorContains(t, err, `subnet "bad"`)
}
