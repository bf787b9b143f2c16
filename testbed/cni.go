package testbed

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// cniSupport is what the test bed does differently per CNI. The rest (netcert's workloads, the
// hermetic CoreDNS, the readiness of nodes, CoreDNS and the probes) is the same for every CNI.
type cniSupport struct {
	// preflight checks the host before the cluster is created; nil when there is nothing to check.
	preflight func() error
	// install applies the CNI to a new cluster.
	install func(ctx context.Context, r *resources.Resources, cfg Config) error
	// ready lists the CNI's own readiness conditions, awaited before the nodes' readiness.
	ready func(r *resources.Resources, cfg Config, nodes int) ([]readiness, error)
}

var cnis = map[string]cniSupport{
	"flannel": {install: installFlannel, ready: flannelReady},
	"calico":  {preflight: calicoPreflight, install: installCalico, ready: calicoReady},
}

// cniFor returns the support of the CNI name, or an error naming the CNIs the test bed knows.
func cniFor(name string) (cniSupport, error) {
	cni, ok := cnis[name]
	if !ok {
		return cniSupport{}, fmt.Errorf("unknown CNI %q: the test bed supports %s",
			name, strings.Join(slices.Sorted(maps.Keys(cnis)), ", "))
	}
	return cni, nil
}
