package faults

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/node"
)

func TestIPForwardOffInjectsAndReverts(t *testing.T) {
	value := "1"
	n := forwardingNode("w1", &value)
	journalOn(n)
	c := &Cluster{Nodes: []node.Node{node.NewFake("cp"), n}}
	revert, err := IPForwardOff{Node: "w1"}.Inject(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, "0", value)

	require.NoError(t, revert(context.Background()))
	assert.Equal(t, "1", value)
	require.NoError(t, revert(context.Background()), "revert is idempotent")
	assert.Equal(t, "1", value)
}

func TestIPForwardOffUnknownNode(t *testing.T) {
	_, err := IPForwardOff{Node: "nope"}.Inject(context.Background(), &Cluster{Nodes: []node.Node{node.NewFake("w1")}})
	assert.ErrorContains(t, err, `no node "nope" (nodes: w1)`)
}

// forwardingNode is a fake node whose net.ipv4.ip_forward is *value, read and written by sysctl.
func forwardingNode(name string, value *string) *node.Fake {
	return node.NewFake(name).
		Handle("sysctl -n net.ipv4.ip_forward", func([]string) (string, int) { return *value + "\n", 0 }).
		Handle("sysctl -w", func(argv []string) (string, int) {
			*value = strings.TrimPrefix(argv[2], "net.ipv4.ip_forward=")
			return "", 0
		})
}

func TestBridgeNFCallOffInjectsAndReverts(t *testing.T) {
	value := "1"
	n := node.NewFake("w1").
		Handle("sysctl -n net.bridge.bridge-nf-call-iptables", func([]string) (string, int) { return value + "\n", 0 }).
		Handle("sysctl -w", func(argv []string) (string, int) {
			value = strings.TrimPrefix(argv[2], "net.bridge.bridge-nf-call-iptables=")
			return "", 0
		})
	journalOn(n)
	revert, err := BridgeNFCallOff{Node: "w1"}.Inject(context.Background(), &Cluster{Nodes: []node.Node{n}})
	require.NoError(t, err)
	assert.Equal(t, "0", value)
	require.NoError(t, revert(context.Background()))
	assert.Equal(t, "1", value)
	assert.False(t, BridgeNFCallOff{}.AppliesTo("calico"))
}
