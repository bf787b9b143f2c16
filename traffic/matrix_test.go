package traffic

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func cluster(t *testing.T, nodePort bool) *fake.Clientset {
	t.Helper()
	cs := fake.NewClientset()
	for i, name := range ClusterIPServices {
		_, err := cs.CoreV1().Services(Namespace).Create(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.7." + string(rune('7'+i))}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	if nodePort {
		_, err := cs.CoreV1().Services(Namespace).Create(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: NodePortService, Namespace: Namespace},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, NodePort: 30080}}}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for i, n := range []string{"cp", "w1"} {
		_, err := cs.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: []string{"172.18.0.2", "172.18.0.3"}[i]}}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		for j, set := range []string{"a", "b"} {
			phase := corev1.PodRunning
			if n == "w1" && set == "b" {
				phase = corev1.PodPending // not counted
			}
			_, err := cs.CoreV1().Pods(Namespace).Create(context.Background(), &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "probe-" + set + "-" + n, Namespace: Namespace,
					Labels: map[string]string{"app.kubernetes.io/name": "netcert-probe", "netcert.io/probe-set": set}},
				Spec: corev1.PodSpec{NodeName: n}, Status: corev1.PodStatus{Phase: phase, PodIP: []string{"10.244.0.", "10.244.1."}[i] + []string{"10", "11"}[j]},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	return cs
}

func TestPathsBuildsTheCorePaths(t *testing.T) {
	cases, err := Paths(t.Context(), cluster(t, true), Options{External: true, ExternalAddr: "172.18.255.10"})
	require.NoError(t, err)
	per := map[string][]Case{}
	for _, c := range cases {
		per[c.Path] = append(per[c.Path], c)
	}
	assert.Len(t, per[ContainerToContainer], 2)
	assert.Len(t, per[PodToPodSameNode], 2, "only cp has a running pod of set b: HTTP and UDP")
	assert.Len(t, per[PodToPodCrossNode], 4, "cp↔w1 both ways, HTTP and UDP")
	assert.Len(t, per[PodToClusterIP], 2)
	require.Len(t, per[ExternalToNodePort], 2)
	ext := per[ExternalToNodePort][1]
	assert.Equal(t, "outside -> w1 nodeport 30080 http", ext.Name)
	assert.Equal(t, []string{"w1", "cp"}, ext.Crosses, "the node it enters, then the backends")
	assert.Equal(t, []string{"172.18.255.10", "172.18.0.3"}, ext.Endpoints)
	assert.True(t, ext.External)
	cross := per[PodToPodCrossNode][0]
	assert.Equal(t, []string{"cp", "w1"}, cross.Crosses)
	assert.Equal(t, []string{"10.244.0.10", "10.244.1.10"}, cross.Endpoints)
	assert.Equal(t, "http://127.0.0.1:9080/", per[ContainerToContainer][0].Args[len(per[ContainerToContainer][0].Args)-1])
}

func TestPathsSaysWhatIsMissing(t *testing.T) {
	cases, err := Paths(t.Context(), cluster(t, false), Options{})
	require.NoError(t, err, "without an outside sender the NodePort Service is not needed")
	assert.NotEmpty(t, cases)
	_, err = Paths(t.Context(), cluster(t, false), Options{External: true})
	assert.ErrorContains(t, err, "no NodePort Service netcert-system/netcert-probe-nodeport: `netcert probes install` installs it")
	_, err = Paths(t.Context(), fake.NewClientset(), Options{})
	assert.ErrorContains(t, err, "no running netcert probe pod in netcert-system")
}
