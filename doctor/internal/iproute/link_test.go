package iproute

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// A Flannel worker of a kind cluster (captured with `ip -j -d link show`): cni0 bridges the pods'
// veths, in hairpin mode; flannel.1 is the VXLAN device.
func TestParseLinkReadsAFlannelWorker(t *testing.T) {
	links, err := ParseLink([]byte(captures.Read(t, "iproute", "flannel-worker-link.json")))
	require.NoError(t, err)
	byName := map[string]Link{}
	for _, l := range links {
		byName[l.Name] = l
	}
	assert.Equal(t, "bridge", byName["cni0"].Kind)
	assert.True(t, byName["cni0"].Up && byName["cni0"].LowerUp)
	assert.Equal(t, 1450, byName["cni0"].MTU)
	assert.Equal(t, "vxlan", byName["flannel.1"].Kind)
	assert.Equal(t, 1500, byName["eth0"].MTU)
	ports := BridgePorts(links)["cni0"]
	assert.Len(t, ports, 3)
	for _, p := range ports {
		assert.Equal(t, "cni0", byName[p].Master)
		require.NotNil(t, byName[p].Hairpin, p)
		assert.True(t, *byName[p].Hairpin, p)
		assert.True(t, byName[p].PeerNetns, "%s: its peer is in the pod", p)
		assert.Positive(t, byName[p].Index)
	}
	assert.False(t, byName["cni0"].PeerNetns)
	assert.Nil(t, byName["eth0"].Hairpin)
}

// A bridge without ports, a port of a missing master, odd types and unknown keys.
func TestParseLinkIsTotal(t *testing.T) {
	links, err := ParseLink([]byte(`[{"ifname":"br0","flags":["UP"],"mtu":"x","linkinfo":{"info_kind":"bridge"}},
		{"ifname":"v1","master":"gone","flags":"UP","linkinfo":{"info_slave_kind":"bridge","info_slave_data":{"hairpin":"yes"}}},
		{"ifname":7,"new":{"a":[1]}}]`))
	require.NoError(t, err)
	require.Len(t, links, 3)
	assert.Equal(t, 0, links[0].MTU)
	assert.False(t, links[1].Up, "flags that are no list read as none")
	assert.Nil(t, links[1].Hairpin)
	assert.Equal(t, "7", links[2].Name)
	assert.Equal(t, map[string][]string{"br0": nil}, BridgePorts(links))
	_, err = ParseLink([]byte("[\n{\"ifname\": x}]"))
	assert.ErrorContains(t, err, "line 2")
}
