package testbed

import (
	"context"
	"fmt"
	"net"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/fixtures"
	"github.com/netcert/netcert/kube"
)

// install applies netcert's workloads, makes CoreDNS hermetic, then applies the CNI. CoreDNS cannot
// start before the CNI, so it never runs with a forward that leaves the machine.
func (c *Cluster) install(ctx context.Context, envCfg *envconf.Config) error {
	r := envCfg.Client().Resources()
	if err := fixtures.Apply(ctx, r, "netcert-probes.yaml", map[string]string{"ProbeImage": c.cfg.Images.Probe}); err != nil {
		return err
	}
	if err := fixtures.Apply(ctx, r, "netcert-test-dns.yaml", map[string]string{
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
	cni, err := cniFor(c.cfg.CNI)
	if err != nil {
		return err
	}
	return cni.install(ctx, r, c.cfg)
}

// hermeticCoreDNS points CoreDNS's only forward at netcert's DNS upstream Service, and has its
// readiness probed every second. When a CoreDNS pod is already placed on a node (a reused
// cluster), it rolls CoreDNS (the same pod-template annotation the doctor and the faults use) so
// the new Corefile is in force at once; the rollout itself is awaited with the other readiness
// waits.
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
	// kubeadm's CoreDNS is probed for readiness every 10s, so a restarted CoreDNS that is ready
	// within a second is seen Ready up to 10s later: the faults and repairs that restart CoreDNS
	// waited out most of that. The test bed's CoreDNS is probed every second.
	if _, err := client.AppsV1().Deployments(kube.CoreDNSNamespace).Patch(ctx, kube.CoreDNSDeployment, types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"coredns","readinessProbe":{"periodSeconds":1}}]}}}}`), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("probe CoreDNS's readiness every second: %w", err)
	}
	pods, err := client.CoreV1().Pods(kube.CoreDNSNamespace).List(ctx, metav1.ListOptions{LabelSelector: kube.CoreDNSSelector})
	if err != nil {
		return fmt.Errorf("read CoreDNS's pods: %w", err)
	}
	if !slices.ContainsFunc(pods.Items, func(p corev1.Pod) bool { return p.Spec.NodeName != "" }) {
		return nil // no pod placed yet (no node is Ready before the CNI): each reads the new Corefile when it starts
	}
	if _, err := kube.SetTemplateAnnotation(ctx, client, kube.CoreDNSNamespace, kube.CoreDNSDeployment,
		kube.CorefileHashAnnotation, kube.SHA256(string(corefile))); err != nil {
		return fmt.Errorf("roll CoreDNS: %w", err)
	}
	return nil
}
