package testbed

import (
	"bytes"
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/fixtures"
	"github.com/netcert/netcert/kube"
)

// install applies netcert's workloads, makes CoreDNS hermetic, then applies the CNI. CoreDNS cannot
// start before the CNI, so it never runs with a forward that leaves the machine.
func (c *Cluster) install(ctx context.Context, envCfg *envconf.Config) error {
	r := envCfg.Client().Resources()
	if err := apply(ctx, r, "netcert-system.yaml", map[string]string{
		"ProbeImage": c.cfg.Images.Probe,
		"TestZone":   TestZone,
		"TestRecord": TestRecordName + "=" + TestRecordIP,
	}); err != nil {
		return err
	}
	if err := hermeticCoreDNS(ctx, r); err != nil {
		return err
	}
	c.cfg.Logf("CoreDNS forwards only to netcert's DNS upstream")
	switch c.cfg.CNI {
	case "flannel":
		return apply(ctx, r, "flannel.yaml", map[string]string{
			"FlannelImage":          c.cfg.Images.Flannel,
			"FlannelCNIPluginImage": c.cfg.Images.FlannelCNIPlugin,
			"CNIPluginsImage":       c.cfg.Images.CNIPlugins,
			"PodSubnet":             c.cfg.PodSubnet,
		})
	default:
		return fmt.Errorf("unknown CNI %q: the test bed supports flannel", c.cfg.CNI)
	}
}

// apply renders a fixture and creates its objects (existing ones, from a kept cluster, stay).
func apply(ctx context.Context, r *resources.Resources, fixture string, data any) error {
	manifest, err := fixtures.Render(fixture, data)
	if err != nil {
		return err
	}
	if err := decoder.DecodeEach(ctx, bytes.NewReader(manifest), decoder.CreateIgnoreAlreadyExists(r)); err != nil {
		return fmt.Errorf("apply %s: %w", fixture, err)
	}
	return nil
}

// hermeticCoreDNS points CoreDNS's only forward at netcert's DNS upstream Service and rolls CoreDNS
// (the same pod-template annotation the doctor and the faults use) so the new Corefile is in force
// at once. The rollout itself is awaited with the other readiness waits.
func hermeticCoreDNS(ctx context.Context, r *resources.Resources) error {
	var svc corev1.Service
	if err := r.Get(ctx, DNSUpstream, Namespace, &svc); err != nil {
		return fmt.Errorf("read the DNS upstream Service: %w", err)
	}
	if net.ParseIP(svc.Spec.ClusterIP) == nil {
		return fmt.Errorf("DNS upstream Service has no cluster IP (%q)", svc.Spec.ClusterIP)
	}
	corefile, err := fixtures.Render("coredns-corefile.tmpl", map[string]string{
		"ClusterDomain": "cluster.local",
		"Upstream":      net.JoinHostPort(svc.Spec.ClusterIP, "53"),
	})
	if err != nil {
		return err
	}
	var cm corev1.ConfigMap
	if err := r.Get(ctx, kube.CoreDNSConfigMap, kube.CoreDNSNamespace, &cm); err != nil {
		return fmt.Errorf("read the CoreDNS ConfigMap: %w", err)
	}
	cm.Data[kube.CorefileKey] = string(corefile)
	if err := r.Update(ctx, &cm); err != nil {
		return fmt.Errorf("update the CoreDNS Corefile: %w", err)
	}
	client, err := kubernetes.NewForConfig(r.GetConfig())
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if _, err := kube.SetTemplateAnnotation(ctx, client, kube.CoreDNSNamespace, kube.CoreDNSDeployment,
		kube.CorefileHashAnnotation, kube.SHA256(string(corefile))); err != nil {
		return fmt.Errorf("roll CoreDNS: %w", err)
	}
	return nil
}
