package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
)

// flannelVXLANConfigMap returns Flannel's ConfigMap with a VXLAN backend for network.
func flannelVXLANConfigMap(network string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: flannelNamespace, Name: flannelConfigMap},
		Data: map[string]string{flannelNetConf: fmt.Sprintf("{\n  \"Network\": %q,\n  \"Backend\": {\"Type\": \"vxlan\"}\n}\n", network)}}
}

// calicoPool returns an IPPool object as calico-node creates it.
func calicoPool(name, cidr, vxlanMode string, disabled bool) *unstructured.Unstructured {
	spec := map[string]any{"cidr": cidr, "vxlanMode": vxlanMode, "ipipMode": "Never", "natOutgoing": true}
	if disabled {
		spec["disabled"] = true
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
		"metadata": map[string]any{"name": name}, "spec": spec}}
}

// felixConfiguration returns the FelixConfiguration default, with vxlanPort when port is not 0.
func felixConfiguration(port int64) *unstructured.Unstructured {
	spec := map[string]any{"logSeverityScreen": "Info"}
	if port != 0 {
		spec["vxlanPort"] = port
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "FelixConfiguration",
		"metadata": map[string]any{"name": "default"}, "spec": spec}}
}

// calicoDynamic is a dynamic client serving Calico's objects.
func calicoDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		calicoIPPools: "IPPoolList", calicoFelixCfg: "FelixConfigurationList"}, objs...)
}

func TestReadIPPools(t *testing.T) {
	c := &Cluster{Dynamic: calicoDynamic(calicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false),
		calicoPool("old", "10.250.1.7/24", "", true))}
	pools, ev, err := readIPPools(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, []ipPool{{Name: "default-ipv4-ippool", CIDR: netip.MustParsePrefix("10.248.0.0/16"), VXLANMode: "Always"},
		{Name: "old", CIDR: netip.MustParsePrefix("10.250.1.0/24"), VXLANMode: "Never", Disabled: true}}, pools)
	assert.Equal(t, "IPPool default-ipv4-ippool 10.248.0.0/16 vxlanMode=Always\nIPPool old 10.250.1.0/24 vxlanMode=Never disabled", ev.Output)

	_, _, err = readIPPools(context.Background(), &Cluster{Dynamic: calicoDynamic(calicoPool("bad", "10.248.0.0", "Always", false))})
	assert.ErrorContains(t, err, `IPPool bad: cidr "10.248.0.0"`)
	_, _, err = readIPPools(context.Background(), &Cluster{})
	assert.ErrorContains(t, err, "no dynamic Kubernetes client")
}

func TestOverlayPortFromTheCluster(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		c    *Cluster
		want int
	}{
		{"flannel vxlan", &Cluster{CNI: "flannel", Client: fake.NewClientset(flannelVXLANConfigMap("10.244.0.0/16"))}, 8472},
		{"calico default port", &Cluster{CNI: "calico", Dynamic: calicoDynamic(calicoPool("p", "10.248.0.0/16", "Always", false))}, 4789},
		{"calico felix port", &Cluster{CNI: "calico", Dynamic: calicoDynamic(calicoPool("p", "10.248.0.0/16", "CrossSubnet", false), felixConfiguration(4790))}, 4790},
		{"calico without vxlan", &Cluster{CNI: "calico", Dynamic: calicoDynamic(calicoPool("p", "10.248.0.0/16", "Never", false),
			calicoPool("q", "10.249.0.0/16", "Always", true))}, 0},
	} {
		port, ev, err := overlayPort(ctx, tc.c)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, port, tc.name)
		assert.NotEmpty(t, ev, tc.name)
	}
	hostGW := flannelVXLANConfigMap("10.244.0.0/16")
	hostGW.Data[flannelNetConf] = `{"Network": "10.244.0.0/16", "Backend": {"Type": "host-gw"}}`
	port, _, err := overlayPort(ctx, &Cluster{CNI: "flannel", Client: fake.NewClientset(hostGW)})
	require.NoError(t, err)
	assert.Zero(t, port, "host-gw carries no overlay")
	custom := flannelVXLANConfigMap("10.244.0.0/16")
	custom.Data[flannelNetConf] = `{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "Port": 4789}}`
	port, _, err = overlayPort(ctx, &Cluster{CNI: "flannel", Client: fake.NewClientset(custom)})
	require.NoError(t, err)
	assert.Equal(t, 4789, port)
}

func TestOverlayPortBlockedNotApplicableWithoutAnOverlay(t *testing.T) {
	c := &Cluster{CNI: "calico", Dynamic: calicoDynamic(calicoPool("p", "10.248.0.0/16", "Never", false))}
	findings, err := OverlayPortBlocked{}.Run(context.Background(), c)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, NotApplicable, findings[0].Status)
	plan, err := OverlayPortBlocked{}.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	assert.True(t, plan.Empty())
}

func TestPodCIDROverlapReadsCalicoIPPools(t *testing.T) {
	api := overlapAPI{cp: "10.250.0.2", worker: "10.250.0.3", cpCIDR: "10.250.128.0/24", wCIDR: "10.250.129.0/24",
		network: "10.250.128.0/17", service: "10.96.0.0/16"}
	c, _, _ := overlapCluster(t, api, "overlap-cp", "overlap-worker")
	c.CNI = "calico"
	c.Dynamic = calicoDynamic(calicoPool("default-ipv4-ippool", "10.248.0.0/16", "Always", false),
		calicoPool("vlan", "10.250.192.0/18", "Always", false))
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	failed := Failed(findings)
	require.NotEmpty(t, failed)
	var objects []string
	for _, f := range failed {
		objects = append(objects, f.Object)
	}
	assert.Contains(t, objects, "pod network 10.250.192.0/18")
	for _, f := range failed {
		if f.Object == "pod network 10.250.192.0/18" {
			assert.Contains(t, f.Summary, "the pod network 10.250.192.0/18 (Calico IPPool vlan) overlaps the node network 10.250.0.0/16")
		}
	}
}
