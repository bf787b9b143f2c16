package testbed

import (
	"fmt"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/node"
)

// Targets returns what the doctor looks at and what faults break, for this test cluster: its kind
// nodes, its API, its probe pods and its node-network host (the sender outside the cluster).
func (c *Cluster) Targets(envCfg *envconf.Config) (*doctor.Cluster, *faults.Cluster, error) {
	nodes, err := node.KindNodes(c.cfg.Name)
	if err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(envCfg.Client().RESTConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(envCfg.Client().RESTConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("dynamic kubernetes client: %w", err)
	}
	prober, err := c.Prober(envCfg)
	if err != nil {
		return nil, nil, err
	}
	return &doctor.Cluster{Nodes: nodes, Client: client, Dynamic: dyn, CNI: c.cfg.CNI, Probe: prober, Traffic: prober},
		&faults.Cluster{Nodes: nodes, Client: client, Dynamic: dyn, CNI: c.cfg.CNI}, nil
}
