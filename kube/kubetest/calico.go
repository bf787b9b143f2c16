package kubetest

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/netcert/netcert/kube"
)

// CalicoDynamic is a fake dynamic client serving Calico's resources.
func CalicoDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		kube.CalicoIPPools: "IPPoolList", kube.CalicoFelixConfiguration: "FelixConfigurationList",
		kube.CalicoIPAMBlocks: "IPAMBlockList", kube.CalicoBlockAffinities: "BlockAffinityList"}, objs...)
}

// CalicoPool returns an IPPool object as calico-node creates it.
func CalicoPool(name, cidr, vxlanMode string, disabled bool) *unstructured.Unstructured {
	spec := map[string]any{"cidr": cidr, "vxlanMode": vxlanMode, "ipipMode": "Never", "natOutgoing": true}
	if disabled {
		spec["disabled"] = true
	}
	return calicoObject("IPPool", name, spec)
}

// CalicoBlock returns an IPAM block of node (a /26, as Calico's default block size) with inUse
// addresses allocated, and the node's affinity for it, named as Calico names them.
func CalicoBlock(cidr, node string, inUse int) []runtime.Object {
	name := strings.NewReplacer(".", "-", "/", "-").Replace(cidr)
	allocations := make([]any, 64)
	for i := range inUse {
		allocations[i] = int64(i)
	}
	block := calicoObject("IPAMBlock", name, map[string]any{"cidr": cidr, "affinity": "host:" + node,
		"allocations": allocations, "unallocated": []any{}, "attributes": []any{}})
	aff := calicoObject("BlockAffinity", node+"-"+name, map[string]any{"cidr": cidr, "node": node, "state": "confirmed", "deleted": "false"})
	return []runtime.Object{block, aff}
}

func calicoObject(kind, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": kind,
		"metadata": map[string]any{"name": name}, "spec": spec}}
}
