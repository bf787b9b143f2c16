package testbed

import (
	"context"
	"fmt"
	"net/netip"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/podprobe"
	"github.com/netcert/netcert/traffic"
)

// ProbePod is one running netcert probe pod.
type ProbePod = traffic.Pod

// ProbePods lists the running probe pods, sorted by node then set.
func ProbePods(ctx context.Context, cfg *envconf.Config) ([]ProbePod, error) {
	client, err := kubernetes.NewForConfig(restConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return traffic.ProbePods(ctx, client)
}

// Prober returns a prober for this test cluster: its probe pods, and its node-network host as
// the sender outside the cluster.
func (c *Cluster) Prober(cfg *envconf.Config) (*podprobe.Prober, error) {
	client, err := kubernetes.NewForConfig(restConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	subnet, err := netip.ParsePrefix(c.cfg.NodeSubnet)
	if err != nil {
		return nil, fmt.Errorf("the cluster's Docker network subnet %q: %w", c.cfg.NodeSubnet, err)
	}
	host, _, err := networkHostAddr(subnet)
	if err != nil {
		return nil, err
	}
	return &podprobe.Prober{Config: restConfig(cfg), Client: client,
		Outside: podprobe.DockerOutside(c.networkHostName()), OutsideAddr: host.String()}, nil
}
