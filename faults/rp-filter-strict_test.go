package faults

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/node"
)

// rpNode is a fake node whose rp_filter values (interface → value) rpRead prints and sysctl -qw
// and the journaled revert script change; deleting an interface from values makes it vanish.
func rpNode(name string, values map[string]string) *node.Fake {
	n := node.NewFake(name)
	journalOn(n)
	set := regexp.MustCompile(`net/ipv4/conf/([^/]+)/rp_filter=(\d)`)
	apply := func(text string) {
		for _, m := range set.FindAllStringSubmatch(text, -1) {
			if _, ok := values[m[1]]; ok {
				values[m[1]] = m[2]
			}
		}
	}
	n.Handle("sh -c "+rpRead, func([]string) (string, int) {
		var out []string
		for iface, v := range values {
			out = append(out, rpConf+iface+"/rp_filter:"+v)
		}
		return strings.Join(out, "\n"), 0
	})
	n.Handle("sysctl -qw", func(argv []string) (string, int) { apply(strings.Join(argv[2:], " ")); return "", 0 })
	n.Handle("sh -c", func(argv []string) (string, int) { apply(argv[2]); return "", 0 })
	return n
}

// The fault makes all and every interface strict, and its revert gives each value back, twice
// safely; the default for new interfaces is left alone.
func TestRPFilterStrictInjectsAndReverts(t *testing.T) {
	ctx := context.Background()
	values := map[string]string{"all": "0", "default": "2", "lo": "0", "eth0": "2", "flannel.1": "0", "cali0123": "1"}
	before := map[string]string{}
	for k, v := range values {
		before[k] = v
	}
	n := rpNode("w1", values)
	revert, err := RPFilterStrict{Node: "w1"}.Inject(ctx, &Cluster{Nodes: []node.Node{node.NewFake("cp"), n}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"all": "1", "default": "2", "lo": "1", "eth0": "1", "flannel.1": "1", "cali0123": "1"}, values)
	assert.Contains(t, strings.Join(n.Calls(), "\n"), "sysctl -qw net/ipv4/conf/all/rp_filter=1 net/ipv4/conf/cali0123/rp_filter=1 net/ipv4/conf/eth0/rp_filter=1 net/ipv4/conf/flannel.1/rp_filter=1 net/ipv4/conf/lo/rp_filter=1")

	require.NoError(t, revert(ctx))
	assert.Equal(t, before, values)
	require.NoError(t, revert(ctx), "revert is idempotent")
	assert.Equal(t, before, values)
}

// With a list, only all and those interfaces change; an interface the node lacks is refused
// before anything changes.
func TestRPFilterStrictOnListedInterfaces(t *testing.T) {
	ctx := context.Background()
	values := map[string]string{"all": "2", "default": "2", "eth0": "2", "eth1": "0"}
	n := rpNode("w1", values)
	c := &Cluster{Nodes: []node.Node{n}}
	revert, err := RPFilterStrict{Node: "w1", Interfaces: []string{"eth1"}}.Inject(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"all": "1", "default": "2", "eth0": "2", "eth1": "1"}, values)
	delete(values, "eth1") // gone before the revert: skipped
	require.NoError(t, revert(ctx))
	assert.Equal(t, map[string]string{"all": "2", "default": "2", "eth0": "2"}, values)

	_, err = RPFilterStrict{Node: "w1", Interfaces: []string{"eth9"}}.Inject(ctx, c)
	assert.ErrorContains(t, err, `w1 has no interface "eth9"`)
	assert.Equal(t, "2", values["all"], "nothing changed")
	assert.False(t, RPFilterStrict{}.AppliesTo("flannel"))
}
