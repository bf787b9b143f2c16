package testbed

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// Targets returns what the doctor looks at and what faults break, for this test cluster: its kind
// nodes, its API, its probe pods and its node-network host (the sender outside the cluster).
func (c *Cluster) Targets(envCfg *envconf.Config) (*doctor.Cluster, *faults.Cluster, error) {
	nodes, err := node.KindNodes(c.cfg.Name)
	if err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(restConfig(envCfg))
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(restConfig(envCfg))
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

// revertMarkedFaults reverts, from their marks, the faults still injected in a cluster that is
// kept (after an interrupt, which no feature's revert follows), and says what it reverted.
func (c *Cluster) revertMarkedFaults(ctx context.Context) {
	if c.kubeconfig == "" {
		return
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		c.cfg.Logf("cannot look for faults left injected: %v (netcert clean --kind %s reverts them)", err, c.cfg.Name)
		return
	}
	nodes, err := node.KindNodes(c.cfg.Name)
	client, cerr := kubernetes.NewForConfig(restCfg)
	dyn, derr := dynamic.NewForConfig(restCfg)
	if err = errors.Join(err, cerr, derr); err != nil {
		c.cfg.Logf("cannot look for faults left injected: %v (netcert clean --kind %s reverts them)", err, c.cfg.Name)
		return
	}
	reverted, err := faults.Clean(ctx, &faults.Cluster{Nodes: nodes, Client: client, Dynamic: dyn, CNI: c.cfg.CNI})
	for _, r := range reverted {
		c.cfg.Logf("reverted fault %s, left injected in the kept cluster", r)
	}
	if err != nil {
		c.cfg.Logf("reverting the faults left injected failed: %v (netcert clean --kind %s retries)", err, c.cfg.Name)
	}
}

// restConfig is the cluster's REST config with the throughput of netcert's CLI (kube.Throughput).
func restConfig(cfg *envconf.Config) *rest.Config { return kube.Throughput(cfg.Client().RESTConfig()) }
