package testbed

import (
	"context"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/registry"
	"github.com/netcert/netcert/reports"
)

// Worker names of the test bed's clusters: faults break workers, so the control plane keeps
// serving the API.
func (c *Cluster) brokenNode() string { return c.cfg.Name + "-worker" }
func (c *Cluster) otherNode() string  { return c.cfg.Name + "-worker2" }

// bed is what the registry's injectors know of this cluster; the node-network host is read
// when a fault is built (it is picked at run time).
func (c *Cluster) bed() registry.Bed {
	return registry.Bed{CNI: c.cfg.CNI, Node: c.brokenNode(), Other: c.otherNode(),
		DeadService: Namespace + "/" + DeadUpstream, ProbeImage: c.cfg.Images.Probe}
}

// Faults returns the features that certify the faults ids on this cluster's CNI, from the
// registry: one per injector that applies (labelled variant=<its variant>), and, where the fault
// or an injector does not exist on the CNI, a skipped feature whose report says why. An unknown
// ID panics: the suite's list is code.
func (c *Cluster) Faults(ids ...string) []features.Feature {
	var out []features.Feature
	for _, id := range ids {
		e := registry.MustLookup(id)
		if ok, why := e.AppliesTo(c.cfg.CNI); !ok {
			out = append(out, c.notApplicable(reports.Case{ID: id, Name: id, Fault: id}, why))
			continue
		}
		for _, in := range e.Injectors {
			if why, skip := in.NotOn[c.cfg.CNI]; skip {
				out = append(out, c.notApplicable(caseOf(id, in.Variant), why))
				continue
			}
			out = append(out, c.Feature(c.scenario(e, in)))
		}
	}
	return out
}

// scenario is the proof of one injector of e on this cluster.
func (c *Cluster) scenario(e registry.Entry, in registry.Injector) Scenario {
	bed := c.bed()
	var breaks func(TrafficCase) bool
	if in.Breaks != nil {
		breaks = in.Breaks(bed)
	}
	return Scenario{
		ID:      e.ID,
		Variant: in.Variant,
		Fault: func(ctx context.Context, cfg *envconf.Config) (faults.Fault, error) {
			b := bed
			if host, _, err := NetworkHost(ctx, cfg.Client().Resources()); err == nil {
				b.NetworkHost = host
			}
			return in.New(b)
		},
		Problem:      e.RepairOf(in),
		Breaks:       breaks,
		NewPodFails:  in.NewPodFails,
		Consequences: in.Consequences,
		Manual:       in.Manual,
	}
}

// caseOf is the report case of a fault's injector.
func caseOf(id, variant string) reports.Case {
	if variant == "" {
		return reports.Case{ID: id, Name: id, Fault: id}
	}
	return reports.Case{ID: id + "/" + variant, Name: id + " (" + variant + ")", Fault: id, Variant: variant}
}

// notApplicable is a feature that records, as its one skipped step, why the case does not exist
// on this CNI.
func (c *Cluster) notApplicable(rc reports.Case, why string) features.Feature {
	rc.SkipReason = "not applicable to " + c.cfg.CNI + ": " + why
	return c.NewFeature(rc).Assess("not applicable to "+c.cfg.CNI, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Skip(rc.SkipReason)
		return ctx
	}).Feature()
}
