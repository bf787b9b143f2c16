package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// NetworkHost is a host of the node network outside Kubernetes, as a VM of the same VPC would
// be: a container of netcert's probe image (serving HTTP on 8080 and UDP echo on 8082) on the
// cluster's Docker network, at the tenth address of the network's last /24. The traffic matrix
// probes it from every node; a Calico IPPool over that /24 cuts it off (pod-cidr-overlap).
const (
	NetworkHostConfigMap = "node-network-host" // in Namespace: key "ip", and "subnet" (its /24)
	networkHostSuffix    = "-host"
)

// networkHostName is the container's name: the cluster's name plus "-host".
func (c *Cluster) networkHostName() string { return c.cfg.Name + networkHostSuffix }

// networkHostAddr picks the host's address in the network: .10 of the last /24 of its IPv4 subnet.
func networkHostAddr(subnet netip.Prefix) (netip.Addr, netip.Prefix, error) {
	if !subnet.Addr().Is4() || subnet.Bits() > 24 {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("docker network subnet %s: want IPv4 of /24 or wider", subnet)
	}
	last := subnet.Masked().Addr().As4()
	size := uint32(1) << (32 - subnet.Bits())
	base := uint32(last[0])<<24 | uint32(last[1])<<16 | uint32(last[2])<<8 | uint32(last[3])
	top := base + size - 256 // the last /24
	addr := netip.AddrFrom4([4]byte{byte(top >> 24), byte(top >> 16), byte(top >> 8), 10})
	return addr, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(top >> 24), byte(top >> 16), byte(top >> 8), 0}), 24), nil
}

// startNetworkHost runs the host container on the cluster's Docker network and records its
// address in the cluster (ConfigMap NetworkHostConfigMap), where the traffic matrix finds it.
func (c *Cluster) startNetworkHost(ctx context.Context, r *resources.Resources) error {
	subnet, err := netip.ParsePrefix(c.cfg.NodeSubnet)
	if err != nil {
		return fmt.Errorf("the cluster's Docker network subnet %q: %w", c.cfg.NodeSubnet, err)
	}
	addr, slash24, err := networkHostAddr(subnet)
	if err != nil {
		return err
	}
	_, _ = run(ctx, "docker", "rm", "-f", c.networkHostName()) // left by a kept cluster
	if _, err := run(ctx, "docker", "run", "-d", "--name", c.networkHostName(), "--network", c.cfg.Name,
		"--ip", addr.String(), "--label", "netcert.cluster="+c.cfg.Name, c.cfg.Images.Probe); err != nil {
		return fmt.Errorf("start the node-network host: %w", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: NetworkHostConfigMap, Namespace: Namespace},
		Data: map[string]string{"ip": addr.String(), "subnet": slash24.String()}}
	if err := r.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) { // a kept cluster has it
		return fmt.Errorf("record the node-network host: %w", err)
	}
	c.cfg.Logf("node-network host %s at %s (Docker network %s)", c.networkHostName(), addr, subnet)
	return nil
}

// stopNetworkHost removes the host container, if there is one.
func (c *Cluster) stopNetworkHost(ctx context.Context) error {
	out, err := run(ctx, "docker", "ps", "-aq", "--filter", "name=^"+c.networkHostName()+"$")
	if err != nil || strings.TrimSpace(out) == "" {
		return err
	}
	_, err = run(ctx, "docker", "rm", "-f", c.networkHostName())
	return err
}

// NetworkHost returns the node-network host's address and its /24, as recorded in the cluster.
func NetworkHost(ctx context.Context, r *resources.Resources) (netip.Addr, netip.Prefix, error) {
	var cm corev1.ConfigMap
	if err := r.Get(ctx, NetworkHostConfigMap, Namespace, &cm); err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("read the node-network host: %w", err)
	}
	addr, err := netip.ParseAddr(cm.Data["ip"])
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("configmap %s/%s: ip: %w", Namespace, NetworkHostConfigMap, err)
	}
	subnet, err := netip.ParsePrefix(cm.Data["subnet"])
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("configmap %s/%s: subnet: %w", Namespace, NetworkHostConfigMap, err)
	}
	return addr, subnet, nil
}
