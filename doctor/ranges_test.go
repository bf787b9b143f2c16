package doctor

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRelate(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		a, b string
		want relation
	}{
		{"10.244.1.0/25", "10.244.1.0/24", relInside},
		{"10.244.1.128/25", "10.244.1.0/24", relInside},
		{"10.244.0.0/16", "10.244.1.0/24", relContains},
		{"10.0.0.0/8", "10.244.0.0/16", relContains},
		{"10.244.1.0/24", "10.244.1.0/24", relEqual},
		{"10.244.1.254/24", "10.244.1.0/24", relEqual},
		{"10.244.0.0/24", "10.244.1.0/24", relDisjoint},
		{"172.18.0.0/16", "10.244.0.0/16", relDisjoint},
		{"10.244.2.0/23", "10.244.1.0/24", relDisjoint},
		{"10.244.1.7/32", "10.244.1.0/24", relInside},
		{"0.0.0.0/0", "10.244.1.0/24", relContains},
		{"::/0", "10.244.1.0/24", relDisjoint},
		{"fd00:10:244:1::/64", "fd00:10:244::/56", relInside},
	} {
		assert.Equal(t, tc.want, relatePrefixes(p(tc.a), p(tc.b)), "%s vs %s", tc.a, tc.b)
	}
	assert.Equal(t, relDisjoint, relatePrefixes(netip.Prefix{}, p("10.0.0.0/8")), "an invalid prefix overlaps nothing")
}

func TestReadAPIRangesDualStackAndOlderFields(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp", Labels: map[string]string{controlPlaneRole: ""}},
			Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24"}, // no podCIDRs list: an older API server
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "192.168.1.9"},
				{Type: corev1.NodeInternalIP, Address: "172.18.0.2"}, {Type: corev1.NodeInternalIP, Address: "fc00:f853:ccd:e793::2"}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-apiserver-cp"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-apiserver", Command: []string{"kube-apiserver"},
				Args: []string{"--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112"}}}}},
	)
	r, err := readAPIRanges(context.Background(), &Cluster{Client: cs, CNI: "cilium"})
	require.NoError(t, err)
	require.Len(t, r.PodCIDRs, 1)
	assert.Equal(t, ipRange{Prefix: netip.MustParsePrefix("10.244.0.0/24"), Node: "cp", What: "node cp's podCIDR 10.244.0.0/24",
		Evidence: Evidence{Source: "LIST nodes (spec.podCIDRs, InternalIP)", Output: "cp podCIDRs=10.244.0.0/24 InternalIP=172.18.0.2,fc00:f853:ccd:e793::2"}}, r.PodCIDRs[0])
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("172.18.0.2"), netip.MustParseAddr("fc00:f853:ccd:e793::2")}, r.InternalIPs["cp"])
	assert.Equal(t, "10.96.0.0/16, fd00:10:96::/112", rangeList(r.Services, ""))
	assert.Empty(t, r.PodNetwork, "an unknown CNI's config is not read")
}

func TestReadAPIRangesRejectsBadValues(t *testing.T) {
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.1.0"}}})
	_, err := readAPIRanges(context.Background(), &Cluster{Client: cs})
	assert.ErrorContains(t, err, `node w: podCIDR "10.244.1.0"`)

	cs = fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: flannelNamespace, Name: flannelConfigMap},
		Data: map[string]string{flannelNetConf: `{"Backend": {"Type": "vxlan"}}`}})
	_, err = readAPIRanges(context.Background(), &Cluster{Client: cs, CNI: "flannel"})
	assert.ErrorContains(t, err, "net-conf.json has no Network")
}
