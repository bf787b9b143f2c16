package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Where Flannel keeps its network config.
const (
	flannelNamespace = "kube-flannel"
	flannelConfigMap = "kube-flannel-cfg"
	flannelNetConf   = "net-conf.json"
)

// flannelVXLANPort is the port Flannel's VXLAN backend uses on Linux unless Backend.Port is set.
const flannelVXLANPort = 8472

// flannelConfig is Flannel's net-conf.json, reduced to what netcert reasons about.
type flannelConfig struct {
	Network     string
	IPv6Network string
	Backend     struct {
		Type string
		Port int
	}
}

// readFlannelConfig reads and parses Flannel's net-conf.json.
func readFlannelConfig(ctx context.Context, c *Cluster) (flannelConfig, Evidence, error) {
	var conf flannelConfig
	ev := Evidence{Source: fmt.Sprintf("GET configmap %s/%s (%s)", flannelNamespace, flannelConfigMap, flannelNetConf)}
	if c.Client == nil {
		return conf, ev, fmt.Errorf("no Kubernetes client to read Flannel's network config")
	}
	cm, err := c.Client.CoreV1().ConfigMaps(flannelNamespace).Get(ctx, flannelConfigMap, metav1.GetOptions{})
	if err != nil {
		return conf, ev, fmt.Errorf("read Flannel's network config: %w", err)
	}
	raw, ok := cm.Data[flannelNetConf]
	if !ok {
		return conf, ev, fmt.Errorf("configmap %s/%s has no %s", flannelNamespace, flannelConfigMap, flannelNetConf)
	}
	ev.Output = strings.TrimSpace(raw)
	if err := json.Unmarshal([]byte(raw), &conf); err != nil {
		return conf, ev, fmt.Errorf("configmap %s/%s: parse %s: %w", flannelNamespace, flannelConfigMap, flannelNetConf, err)
	}
	return conf, ev, nil
}
