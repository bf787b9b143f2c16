package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKubeProxyExpectedEndpointsFollowTopologyHints(t *testing.T) {
	sp := kpServicePort{Endpoints: []kpEndpoint{
		{Addr: "10.244.1.2:80", Node: "a", Ready: true, ZoneHints: []string{"z1"}},
		{Addr: "10.244.2.2:80", Node: "b", Ready: true, ZoneHints: []string{"z2"}},
		{Addr: "10.244.3.2:80", Node: "c", Ready: false, ZoneHints: []string{"z1"}},
	}}
	assert.Equal(t, []string{"10.244.1.2:80"}, sp.expected("a", "z1"))
	assert.Equal(t, []string{"10.244.1.2:80", "10.244.2.2:80"}, sp.expected("x", "z9"), "no endpoint for the zone: hints ignored")
	assert.Equal(t, []string{"10.244.1.2:80", "10.244.2.2:80"}, sp.expected("x", ""), "a node without a zone ignores zone hints")
	sp.Endpoints[1].ZoneHints = nil
	assert.Equal(t, []string{"10.244.1.2:80", "10.244.2.2:80"}, sp.expected("a", "z1"), "one ready endpoint without hints: hints ignored")
	sp.Endpoints[0].NodeHints, sp.Endpoints[1].NodeHints = []string{"a"}, []string{"b"}
	assert.Equal(t, []string{"10.244.2.2:80"}, sp.expected("b", ""), "node hints")
	sp.Local = true
	assert.Equal(t, []string{"10.244.1.2:80"}, sp.expected("a", ""), "internalTrafficPolicy Local: the node's own ready endpoints")
	assert.Empty(t, sp.expected("c", ""), "no ready endpoint on c")
}
