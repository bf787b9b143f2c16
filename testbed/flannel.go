package testbed

import (
	"context"

	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/netcert/netcert/fixtures"
)

// installFlannel applies netcert's Flannel fixture (VXLAN backend) for the cluster's pod subnet.
func installFlannel(ctx context.Context, r *resources.Resources, cfg Config) error {
	return fixtures.Apply(ctx, r, "flannel.yaml", map[string]string{
		"FlannelImage":          cfg.Images.Flannel,
		"FlannelCNIPluginImage": cfg.Images.FlannelCNIPlugin,
		"CNIPluginsImage":       cfg.Images.CNIPlugins,
		"PodSubnet":             cfg.PodSubnet,
	})
}

// flannelReady: the flannel DaemonSet Ready on every node.
func flannelReady(r *resources.Resources, _ Config, nodes int) ([]readiness, error) {
	return []readiness{{"Flannel DaemonSet", daemonSetReady(r, "kube-flannel", "kube-flannel-ds", nodes)}}, nil
}
