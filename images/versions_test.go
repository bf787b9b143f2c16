package images

import (
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
		"CNI_PLUGINS_IMAGE", "PROBE_IMAGE", "UPSTREAM_NODE_IMAGE", "UPSTREAM_FLANNEL_IMAGE"} {
		assert.NotEmpty(t, v[key], key)
	}
	assert.Equal(t, "netcert.local/node:"+v["KUBERNETES_VERSION"], v["LOCAL_NODE_IMAGE"])
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
	assert.NotContains(t, For(m).LocalImages(), For(m).Flannel)

	t.Setenv(ModeEnv, "registry")
	_, err = ModeFromEnv()
	assert.ErrorContains(t, err, "NETCERT_IMAGES")
}
