package testbed

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/registry"
	"github.com/netcert/netcert/traffic"
)

// Cascades are faults with one cause and several symptoms: the doctor must name exactly the
// cause and mark every other failure as its consequence (Feature's detection step).

// ForwardOffUnderDNSUpstream turns ip_forward off on the node that runs the test zone's DNS
// upstream: CoreDNS's forward stops answering and every pod path through that node fails, all
// consequences, while the only root cause is the node's sysctl. (Pods' own test-zone lookups may
// still be answered from CoreDNS's cache for a while: the doctor asks the upstream itself.)
func (c *Cluster) ForwardOffUnderDNSUpstream() features.Feature {
	var upstreamNode string
	return c.Feature(Scenario{
		ID:      registry.IPForwardOff,
		Variant: "dns-upstream-node",
		Fault: func(ctx context.Context, cfg *envconf.Config) (faults.Fault, error) {
			var pods corev1.PodList
			if err := cfg.Client().Resources(Namespace).List(ctx, &pods, resources.WithLabelSelector("app.kubernetes.io/name=netcert-"+DNSUpstream)); err != nil {
				return nil, fmt.Errorf("list the DNS upstream's pods: %w", err)
			}
			for _, p := range pods.Items {
				if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
					upstreamNode = p.Spec.NodeName
					return faults.IPForwardOff{Node: upstreamNode}, nil
				}
			}
			return nil, fmt.Errorf("no running DNS upstream pod in %s", Namespace)
		},
		Problem:      registry.MustLookup(registry.IPForwardOff).Problem,
		Breaks:       func(tc TrafficCase) bool { return traffic.CrossNodeVia(upstreamNode)(tc) },
		Consequences: []string{doctor.CoreDNSForwardBroken{}.ID(), doctor.TrafficPathBroken{}.ID()},
	})
}
