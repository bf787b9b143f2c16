package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/corefile"
)

// CoreDNSForwardBroken is the check and repair for coredns-forward-broken: CoreDNS forwards the
// names it does not serve itself to upstreams that do not answer, so every name outside the
// cluster domain fails to resolve. The check parses the Corefile and sends each forward target a
// real query from a probe pod; the repair puts a working upstream in place of the dead ones.
type CoreDNSForwardBroken struct {
	// QueryName is the name each target is asked for: the upstream must answer it with a record.
	// The default, DefaultQueryName, is the record netcert's own DNS upstream serves in the test
	// bed; it lies under the reserved .test TLD, so it names nothing outside the machine. In other
	// clusters set a name the upstream is known to answer.
	QueryName string
	// Upstream is the working upstream (IP or IP:port, e.g. the ClusterIP of an in-cluster DNS
	// Service) that the repair puts in place of the failed targets. Empty: the repair takes the
	// targets of the last known-good Corefile, and without one it plans manual steps.
	Upstream string
	// RolloutTimeout bounds the wait for CoreDNS to roll out a new Corefile (default 2m).
	RolloutTimeout time.Duration
	// PollInterval is how often that rollout is polled (default kube.DefaultPollInterval, 500ms).
	PollInterval time.Duration
}

// DefaultQueryName is the name forward targets are asked for unless QueryName is set.
const DefaultQueryName = "probe.netcert.test."

// KnownGoodCorefile is the ConfigMap (in kube-system, key "Corefile", annotated with the
// Corefile's SHA-256) where SnapshotCorefile keeps the last Corefile whose every forward target
// answered.
const KnownGoodCorefile = "netcert-known-good-corefile"

// corednsObject is how findings and plans name the CoreDNS ConfigMap.
const corednsObject = "configmap/" + kube.CoreDNSNamespace + "/" + kube.CoreDNSConfigMap

// ID returns "coredns-forward-broken".
func (CoreDNSForwardBroken) ID() string { return "coredns-forward-broken" }

func (p CoreDNSForwardBroken) queryName() string {
	if p.QueryName == "" {
		return DefaultQueryName
	}
	return p.QueryName
}

// targetUse is one forward target and the directives that use it.
type targetUse struct {
	target   corefile.Target
	forwards []corefile.Forward
}

// targetUses groups the Corefile's forward targets by what they name, in order of appearance.
func targetUses(cf *corefile.Corefile) []*targetUse {
	var uses []*targetUse
	byName := map[string]*targetUse{}
	for _, f := range cf.Forwards {
		for _, t := range f.Targets {
			u, ok := byName[t.String()]
			if !ok {
				u = &targetUse{target: t}
				byName[t.String()] = u
				uses = append(uses, u)
			}
			u.forwards = append(u.forwards, f)
		}
	}
	return uses
}

// Run reads the Corefile and probes each forward target. Targets netcert cannot query from inside
// the cluster (the node's resolvers, DNS over TLS, a variable of the CoreDNS pod's environment)
// are reported NotApplicable, not probed. It writes nothing: keeping a known-good Corefile is
// SnapshotCorefile's explicit step.
func (p CoreDNSForwardBroken) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	cf, read, self, err := readCorefileAndSelf(ctx, c, p.ID())
	if err != nil {
		return nil, err
	}
	var findings []Finding
	probed, failed := 0, 0
	for _, u := range targetUses(cf) {
		f, what := forwardFinding(p.ID(), u, cf, read)
		if is := self.is(u.target); is != "" {
			f.Status, f.Summary = NotApplicable, fmt.Sprintf("%s, CoreDNS itself (%s): a loop, which coredns-loop names; not probed", what, is)
			findings = append(findings, f)
			continue
		}
		if !u.target.Probeable() {
			f.Status = NotApplicable
			switch {
			case u.target.EnvPlaceholder:
				f.Summary = what + ", an environment variable of the CoreDNS pod: netcert cannot read or probe it"
			case u.target.File != "":
				f.Summary = fmt.Sprintf("%s, the node's resolvers: not probed, netcert queries only servers inside the cluster", what)
			default:
				f.Summary = what + ": DNS over TLS, not probed"
			}
			findings = append(findings, f)
			continue
		}
		if c.Probe == nil {
			return nil, fmt.Errorf("%s: no prober to query forward target %s", p.ID(), u.target.Address)
		}
		ok, ev, err := c.Probe.DNS(ctx, u.target.Address, p.queryName())
		if err != nil {
			return nil, fmt.Errorf("%s: probe %s: %w", p.ID(), u.target.Address, err)
		}
		f.Evidence = append(f.Evidence, ev)
		probed++
		if ok {
			f.Status, f.Summary = Pass, fmt.Sprintf("%s, which answers %s", what, p.queryName())
		} else {
			failed++
			f.Status = Fail
			f.Summary = fmt.Sprintf("%s, which does not answer %s: names outside the cluster do not resolve", what, p.queryName())
			// The queries went to the target's endpoints: a node-level cause there explains them.
			svc, nodes, err := trafficTarget(ctx, c, u.target.Address)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.ID(), err)
			}
			f.Crosses = nodes
			if svc != "" {
				f.Services = []string{svc}
			}
		}
		findings = append(findings, f)
	}
	for _, imp := range cf.Imports {
		findings = append(findings, Finding{Check: p.ID(), Object: corednsObject + " import " + imp.Pattern, Status: NotApplicable,
			Summary: fmt.Sprintf("line %d imports %s from the CoreDNS pod: forwards in it are not checked", imp.Line, imp.Pattern)})
	}
	if len(findings) == 0 {
		findings = append(findings, Finding{Check: p.ID(), Object: corednsObject, Status: NotApplicable,
			Summary: "the Corefile has no forward directive", Evidence: []Evidence{read}})
	}
	return findings, nil
}

// readCorefileAndSelf reads the Corefile and CoreDNS's own addresses, for check.
func readCorefileAndSelf(ctx context.Context, c *Cluster, check string) (*corefile.Corefile, Evidence, *corednsSelf, error) {
	_, cf, read, err := readCorefile(ctx, c)
	if err != nil {
		return nil, read, nil, err
	}
	self, err := readCoreDNSSelf(ctx, c)
	if err != nil {
		return nil, read, nil, fmt.Errorf("%s: %w", check, err)
	}
	return cf, read, self, nil
}

// forwardFinding starts check's finding about one forward target: its object, the Corefile lines
// that use it as evidence, and what they say ("CoreDNS forwards ZONES to TARGET").
func forwardFinding(check string, u *targetUse, cf *corefile.Corefile, read Evidence) (Finding, string) {
	f := Finding{Check: check, Object: corednsObject + " forward " + u.target.String()}
	var zones []string
	for _, fw := range u.forwards {
		zones = append(zones, fw.From)
		f.Evidence = append(f.Evidence, Evidence{Source: fmt.Sprintf("%s: Corefile lines %d-%d", read.Source, fw.Line, fw.EndLine), Output: cf.Excerpt(fw)})
	}
	return f, fmt.Sprintf("CoreDNS forwards %s to %s", strings.Join(zones, ", "), u.target.Raw)
}

// readCorefile reads and parses the CoreDNS ConfigMap; the evidence holds the Corefile.
func readCorefile(ctx context.Context, c *Cluster) (*corev1.ConfigMap, *corefile.Corefile, Evidence, error) {
	ev := Evidence{Source: "GET configmap " + kube.CoreDNSNamespace + "/" + kube.CoreDNSConfigMap}
	if c.Client == nil {
		return nil, nil, ev, errors.New("no Kubernetes client: cannot read the CoreDNS Corefile")
	}
	cm, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil, nil, ev, fmt.Errorf("read the CoreDNS Corefile: %w", err)
	}
	src, ok := cm.Data[kube.CorefileKey]
	if !ok {
		return nil, nil, ev, fmt.Errorf("%s has no %s key", corednsObject, kube.CorefileKey)
	}
	ev.Output = src
	cf, err := corefile.Parse(src)
	if err != nil {
		return nil, nil, ev, fmt.Errorf("%s: %w", corednsObject, err)
	}
	return cm, cf, ev, nil
}
