package images

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEnvExpandsReferences(t *testing.T) {
	vars := parseEnv("# comment\nA=v1\n\nB=img:${A}\nnot a pin\n")
	assert.Equal(t, map[string]string{"A": "v1", "B": "img:v1"}, vars)
}

func TestVersionsPinEveryImage(t *testing.T) {
	v := Versions()
	for _, key := range []string{"KUBERNETES_VERSION", "LOCAL_NODE_IMAGE", "LOCAL_FLANNEL_IMAGE",
		"CNI_PLUGINS_IMAGE", "PROBE_IMAGE", "UPSTREAM_NODE_IMAGE", "UPSTREAM_FLANNEL_IMAGE",
		"CALICO_VERSION", "CALICO_API_VERSION", "CALICO_MANIFEST", "LOCAL_CALICO_NODE_IMAGE",
		"LOCAL_CALICO_CNI_IMAGE", "LOCAL_CALICO_KUBE_CONTROLLERS_IMAGE", "UPSTREAM_CALICO_NODE_IMAGE",
		"UPSTREAM_CALICO_CNI_IMAGE", "UPSTREAM_CALICO_KUBE_CONTROLLERS_IMAGE"} {
		assert.NotEmpty(t, v[key], key)
	}
	assert.Equal(t, "netcert.local/node:"+v["KUBERNETES_VERSION"], v["LOCAL_NODE_IMAGE"])
	assert.Equal(t, "netcert.local/calico-node:"+v["CALICO_BUILD_VERSION"], v["LOCAL_CALICO_NODE_IMAGE"])
}

func TestLocalImagesPerCNI(t *testing.T) {
	local, upstream := For(Local), For(Upstream)
	assert.Equal(t, []string{local.Flannel, local.CNIPlugins, local.Probe, local.Agent}, local.LocalImages("flannel"))
	assert.Equal(t, []string{local.CalicoNode, local.CalicoCNI, local.CalicoControllers, local.Probe, local.Agent},
		local.LocalImages("calico"))
	assert.Equal(t, []string{upstream.CNIPlugins, upstream.Probe, upstream.Agent}, upstream.LocalImages("flannel"))
	assert.Equal(t, []string{upstream.Probe, upstream.Agent}, upstream.LocalImages("calico"))
	assert.Equal(t, "netcert.local/agent:dev", local.Agent)
	assert.Equal(t, "docker.io/calico/node:v3.28.5", upstream.CalicoNode)
}

func TestCalicoManifestInTheSetUpCache(t *testing.T) {
	t.Setenv(CacheEnv, "")
	assert.Equal(t, "/var/cache/netcert/manifests/calico-vxlan.yaml", CalicoManifest())
	t.Setenv(CacheEnv, "/tmp/cache")
	assert.Equal(t, "/tmp/cache/manifests/calico-vxlan.yaml", CalicoManifest())
}

func TestModeFromEnv(t *testing.T) {
	t.Setenv(ModeEnv, "")
	m, err := ModeFromEnv()
	require.NoError(t, err)
	assert.Equal(t, Local, m)

	t.Setenv(ModeEnv, "upstream")
	m, err = ModeFromEnv()
	require.NoError(t, err)
	assert.Equal(t, Upstream, m)
	assert.Equal(t, Versions()["UPSTREAM_NODE_IMAGE"], For(m).Node)
	assert.NotContains(t, For(m).LocalImages("flannel"), For(m).Flannel)

	t.Setenv(ModeEnv, "registry")
	_, err = ModeFromEnv()
	assert.ErrorContains(t, err, "NETCERT_IMAGES")
}

// Upstream mode runs Calico's published images of the release the local images are built from.
func TestUpstreamCalicoImagesMatchTheBuiltRelease(t *testing.T) {
	v := Versions()
	release, _, _ := strings.Cut(v["CALICO_BUILD_VERSION"], "-") // v3.28.5-<commit>
	upstream := For(Upstream)
	for _, image := range []string{upstream.CalicoNode, upstream.CalicoCNI, upstream.CalicoControllers} {
		assert.True(t, strings.HasPrefix(image, "docker.io/calico/"), image)
		assert.True(t, strings.HasSuffix(image, ":"+release), "%s is not of release %s", image, release)
	}
}
