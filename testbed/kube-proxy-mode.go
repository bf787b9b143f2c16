package testbed

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// kubeProxyMode reads kube-proxy's mode from its ConfigMap (kube-system/kube-proxy, as kubeadm
// writes it): "iptables" when it names none.
func kubeProxyMode(ctx context.Context, envCfg *envconf.Config) (string, error) {
	var cm corev1.ConfigMap
	if err := envCfg.Client().Resources("kube-system").Get(ctx, "kube-proxy", "kube-system", &cm); err != nil {
		return "", fmt.Errorf("read kube-proxy's ConfigMap: %w", err)
	}
	for _, line := range strings.Split(cm.Data["config.conf"], "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == "mode" {
			if v = strings.Trim(strings.TrimSpace(v), `"'`); v != "" {
				return v, nil
			}
		}
	}
	return "iptables", nil
}

// requireKubeProxyMode fails when kube-proxy does not run the mode the suite certifies.
func (c *Cluster) requireKubeProxyMode(ctx context.Context, envCfg *envconf.Config) error {
	if c.cfg.KubeProxyMode == "" {
		return nil
	}
	mode, err := kubeProxyMode(ctx, envCfg)
	if err != nil {
		return err
	}
	if mode != c.cfg.KubeProxyMode {
		return fmt.Errorf("kube-proxy runs in %s mode; this suite certifies %s mode (%s)", mode, c.cfg.KubeProxyMode, c.cfg.KindConfig)
	}
	return nil
}
