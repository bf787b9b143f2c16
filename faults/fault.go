package faults

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/netcert/netcert/node"
)

// Cluster is what a fault can break.
type Cluster struct {
	Nodes   []node.Node
	Client  kubernetes.Interface
	Dynamic dynamic.Interface // the CNI's own resources (Calico's IPPools)
	CNI     string
}

// Revert undoes a fault. It is idempotent and safe to call after a repair.
type Revert func(ctx context.Context) error

// Fault breaks one thing. Its Name is the kebab-case ID shared with the check that must find it.
type Fault interface {
	Name() string
	AppliesTo(cni string) bool
	Inject(ctx context.Context, c *Cluster) (Revert, error)
}

// nodeNamed finds a node of the cluster.
func (c *Cluster) nodeNamed(name string) (node.Node, error) {
	var names []string
	for _, n := range c.Nodes {
		if n.Name() == name {
			return n, nil
		}
		names = append(names, n.Name())
	}
	return nil, fmt.Errorf("no node %q (nodes: %s)", name, strings.Join(names, ", "))
}
