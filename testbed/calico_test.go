package testbed

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/decoder"

	"github.com/netcert/netcert/images"
)

// A cut-down manifest in the shape of Calico's (written for this test): its ConfigMap, a DaemonSet
// with an init container and a Deployment.
const calicoShapedManifest = `
apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
data: {calico_backend: vxlan, veth_mtu: "0"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: calico-node}}
  template:
    metadata: {labels: {k8s-app: calico-node}}
    spec:
      initContainers:
        - name: install-cni
          image: docker.io/calico/cni:v3.28.5
      containers:
        - name: calico-node
          image: docker.io/calico/node:v3.28.5
          imagePullPolicy: Always
          env:
            - name: CALICO_IPV4POOL_VXLAN
              value: CrossSubnet
            - name: FELIX_VXLANMTU
              valueFrom: {configMapKeyRef: {name: calico-config, key: veth_mtu}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: calico-kube-controllers, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: calico-kube-controllers}}
  template:
    metadata: {labels: {k8s-app: calico-kube-controllers}}
    spec:
      containers:
        - name: calico-kube-controllers
          image: docker.io/calico/kube-controllers:v3.28.5
`

func TestCalicoPatch(t *testing.T) {
	for _, mode := range []images.Mode{images.Local, images.Upstream} {
		t.Run(string(mode), func(t *testing.T) { testCalicoPatch(t, images.For(mode)) })
	}
}

func testCalicoPatch(t *testing.T, set images.Set) {
	objs, err := decoder.DecodeAll(context.Background(), strings.NewReader(calicoShapedManifest),
		decoder.MutateOption(calicoPatch(set, "10.248.0.0/16")))
	require.NoError(t, err)
	require.Len(t, objs, 3)

	config := objs[0].(*corev1.ConfigMap).Data
	assert.Equal(t, map[string]string{"calico_backend": "vxlan", "veth_mtu": "1450"}, config, "the pods' MTU set, the rest as it was")
	node := objs[1].(*appsv1.DaemonSet).Spec.Template.Spec
	assert.Equal(t, set.CalicoCNI, node.InitContainers[0].Image)
	assert.Equal(t, corev1.PullIfNotPresent, node.InitContainers[0].ImagePullPolicy)
	c := node.Containers[0]
	assert.Equal(t, set.CalicoNode, c.Image)
	assert.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy)
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	assert.Len(t, c.Env, len(env), "no variable twice")
	assert.Equal(t, "Always", env["CALICO_IPV4POOL_VXLAN"].Value)
	assert.Equal(t, "Never", env["CALICO_IPV4POOL_IPIP"].Value)
	assert.Equal(t, "10.248.0.0/16", env["CALICO_IPV4POOL_CIDR"].Value)
	assert.Equal(t, "false", env["FELIX_USAGEREPORTINGENABLED"].Value)
	assert.NotNil(t, env["FELIX_VXLANMTU"].ValueFrom, "other variables stay")

	controllers := objs[2].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
	assert.Equal(t, set.CalicoControllers, controllers.Image)
	assert.Empty(t, controllers.Env, "only calico-node's environment changes")
}

func TestCalicoPatchRefusesAnImageItDoesNotKnow(t *testing.T) {
	manifest := strings.Replace(calicoShapedManifest, "docker.io/calico/kube-controllers", "docker.io/calico/typha", 1)
	_, err := decoder.DecodeAll(context.Background(), strings.NewReader(manifest),
		decoder.MutateOption(calicoPatch(images.For(images.Upstream), "10.248.0.0/16")))
	assert.ErrorContains(t, err, "docker.io/calico/typha:v3.28.5")
}

func TestCalicoManifestMissingSaysToRunSetup(t *testing.T) {
	t.Setenv(images.CacheEnv, t.TempDir())
	cni, err := cniFor("calico")
	require.NoError(t, err)
	assert.ErrorContains(t, cni.preflight(), "make setup")
}

func TestUnknownCNI(t *testing.T) {
	_, err := cniFor("cilium")
	assert.ErrorContains(t, err, "calico, flannel")
}
