package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/corefile"
)

// Plan puts a working upstream in place of the targets of the check's Fail findings, in each
// forward directive that uses them; the other targets, the options and every other byte of the
// Corefile stay. The upstream is Upstream if set, else the targets that the same forward had in
// the last known-good Corefile; without either the plan is manual. The action's Argv is the
// equivalent kubectl commands (the ConfigMap patch is conditional on the resourceVersion read).
func (p CoreDNSForwardBroken) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	failed := map[string]bool{}
	for _, f := range findingsOf(findings, p.ID(), Fail) {
		if t, ok := strings.CutPrefix(f.Object, corednsObject+" forward "); ok {
			failed[t] = true
		}
	}
	if len(failed) == 0 {
		return plan, nil
	}
	cm, cf, _, err := readCorefile(ctx, c)
	if err != nil {
		return plan, err
	}
	var broken []corefile.Forward
	for _, f := range cf.Forwards {
		if len(keepTargets(f.Targets, failed)) < len(f.Targets) {
			broken = append(broken, f)
		}
	}
	if len(broken) == 0 { // the Corefile changed since the check ran
		return plan, nil
	}
	replace, source, why, err := p.replacement(ctx, c)
	if err != nil {
		return plan, err
	}
	if replace == nil {
		plan.Manual = p.manualSteps(broken, failed, why)
		return plan, nil
	}
	out := cf
	var changes []string
	for _, f := range broken {
		repl := keepTargets(replace(f), failed)
		if len(repl) == 0 {
			plan.Manual = p.manualSteps(broken, failed, fmt.Sprintf("%s has no target for line %d that did not fail", source, f.Line))
			return plan, nil
		}
		targets := substitute(f.Targets, failed, repl)
		cur, ok := forwardAt(out, f.Line)
		if !ok {
			return plan, fmt.Errorf("%s: line %d lost its forward while editing", p.ID(), f.Line)
		}
		src, err := out.ReplaceTargets(cur, targets)
		if err != nil {
			return plan, fmt.Errorf("%s: %w", p.ID(), err)
		}
		if out, err = corefile.Parse(src); err != nil {
			return plan, fmt.Errorf("%s: %w", p.ID(), err)
		}
		changes = append(changes, fmt.Sprintf("line %d `forward %s %s` -> `forward %s %s`",
			f.Line, f.From, strings.Join(corefile.Raws(f.Targets), " "), f.From, strings.Join(targets, " ")))
	}
	plan.Actions = []Action{{
		Object: corednsObject,
		Summary: fmt.Sprintf("replace the failed forward targets with %s: %s; then roll deployment/%s/%s and wait for it",
			source, strings.Join(changes, "; "), kube.CoreDNSNamespace, kube.CoreDNSDeployment),
		Argv: p.kubectlArgv(cm.ResourceVersion, out.Source),
	}}
	return plan, nil
}

// Apply writes the planned Corefile (unless it is already there), rolls CoreDNS with the Corefile's
// hash as a pod-template annotation (unless already set), waits for the rollout, then verifies by
// querying every forward target of the new Corefile. A Corefile that changed since the plan is
// left alone: plan again.
func (p CoreDNSForwardBroken) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	rec := Record{Check: plan.Check}
	if err := refuseManual(plan); err != nil {
		return rec, err
	}
	for _, a := range plan.Actions {
		want, planned, err := plannedCorefile(a)
		if err != nil {
			return rec, fmt.Errorf("%s: %w", plan.Check, err)
		}
		wantCF, err := corefile.Parse(want)
		if err != nil {
			return rec, fmt.Errorf("%s: planned Corefile: %w", plan.Check, err)
		}
		if c.Probe == nil {
			return rec, fmt.Errorf("%s: no prober to verify the repair with", plan.Check)
		}
		step := Step{Action: a}
		cm, _, _, err := readCorefile(ctx, c)
		if err != nil {
			return rec, err
		}
		if cm.Data[kube.CorefileKey] != want {
			if cm.ResourceVersion != planned {
				return rec, fmt.Errorf("%s: %s changed since the plan (resourceVersion %s, planned %s): plan again", plan.Check, corednsObject, cm.ResourceVersion, planned)
			}
			cm.Data[kube.CorefileKey] = want
			if _, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				return rec, fmt.Errorf("%s: update %s: %w", plan.Check, corednsObject, err)
			}
			step.Changed = true
			step.Evidence = append(step.Evidence, Evidence{Source: "UPDATE " + corednsObject, Output: want})
		}
		rolled, state, err := kube.RollCoreDNS(ctx, c.Client, want, p.rolloutTimeout(), p.PollInterval)
		step.Changed = step.Changed || rolled
		step.Evidence = append(step.Evidence, Evidence{
			Source: fmt.Sprintf("rollout deployment/%s/%s (%s=%s)", kube.CoreDNSNamespace, kube.CoreDNSDeployment, kube.CorefileHashAnnotation, kube.SHA256(want)),
			Output: state,
		})
		if err != nil {
			rec.Steps = append(rec.Steps, step)
			return rec, fmt.Errorf("%s: %w", plan.Check, err)
		}
		for _, u := range targetUses(wantCF) {
			if !u.target.Probeable() {
				continue
			}
			ok, ev, err := c.Probe.DNS(ctx, u.target.Address, p.queryName())
			step.Evidence = append(step.Evidence, ev)
			if err == nil && !ok {
				err = fmt.Errorf("%s still does not answer %s", u.target.Address, p.queryName())
			}
			if err != nil {
				rec.Steps = append(rec.Steps, step)
				return rec, fmt.Errorf("%s: verify: %w", plan.Check, err)
			}
		}
		rec.Steps = append(rec.Steps, step)
		c.log().Info("repaired", "check", plan.Check, "object", a.Object, "changed", step.Changed)
	}
	return rec, nil
}

func (p CoreDNSForwardBroken) rolloutTimeout() time.Duration {
	if p.RolloutTimeout <= 0 {
		return kube.DefaultRolloutTimeout
	}
	return p.RolloutTimeout
}

// replacement returns what replaces a forward's failed targets and where it comes from, or nil
// and why there is nothing.
func (p CoreDNSForwardBroken) replacement(ctx context.Context, c *Cluster) (func(corefile.Forward) []corefile.Target, string, string, error) {
	if p.Upstream != "" {
		t, err := corefile.ParseTarget(p.Upstream)
		if err != nil || !t.Probeable() {
			return nil, "", "", fmt.Errorf("%s: Upstream %q is not an IP or IP:port", p.ID(), p.Upstream)
		}
		t.Raw = t.Address
		return func(corefile.Forward) []corefile.Target { return []corefile.Target{t} }, "the configured upstream " + t.Address, "", nil
	}
	kg, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, KnownGoodCorefile, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "", fmt.Sprintf("no Upstream is configured and no known-good Corefile was kept (configmap/%s/%s)", kube.CoreDNSNamespace, KnownGoodCorefile), nil
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: read the known-good Corefile: %w", p.ID(), err)
	}
	good, err := corefile.Parse(kg.Data[kube.CorefileKey])
	if err != nil {
		return nil, "", fmt.Sprintf("the known-good Corefile is unusable: %v", err), nil
	}
	return func(f corefile.Forward) []corefile.Target {
		var only []corefile.Target
		for _, g := range good.Forwards {
			if g.From == f.From && strings.Join(g.Keys, " ") == strings.Join(f.Keys, " ") {
				return g.Targets
			}
			if len(good.Forwards) == 1 {
				only = g.Targets
			}
		}
		return only
	}, fmt.Sprintf("the targets of the last known-good Corefile (configmap/%s/%s)", kube.CoreDNSNamespace, KnownGoodCorefile), "", nil
}

// keepTargets returns the targets that are not in failed.
func keepTargets(targets []corefile.Target, failed map[string]bool) []corefile.Target {
	var out []corefile.Target
	for _, t := range targets {
		if !failed[t.String()] {
			out = append(out, t)
		}
	}
	return out
}

// substitute puts repl where the first failed target was, drops the other failed ones and keeps
// the rest in order, without duplicates.
func substitute(targets []corefile.Target, failed map[string]bool, repl []corefile.Target) []string {
	var out []string
	seen := map[string]bool{}
	add := func(t corefile.Target) {
		if !seen[t.String()] {
			seen[t.String()] = true
			out = append(out, t.Raw)
		}
	}
	inserted := false
	for _, t := range targets {
		if !failed[t.String()] {
			add(t)
			continue
		}
		if !inserted {
			for _, r := range repl {
				add(r)
			}
			inserted = true
		}
	}
	return out
}

func forwardAt(cf *corefile.Corefile, line int) (corefile.Forward, bool) {
	for _, f := range cf.Forwards {
		if f.Line == line {
			return f, true
		}
	}
	return corefile.Forward{}, false
}

// corefilePatch is the merge patch of the CoreDNS ConfigMap that a plan carries.
type corefilePatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion,omitempty"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
}

const patchFlag = "--patch="

// kubectlArgv is what Apply does, as kubectl commands a person could run instead.
func (p CoreDNSForwardBroken) kubectlArgv(resourceVersion, corefile string) [][]string {
	var patch corefilePatch
	patch.Metadata.ResourceVersion = resourceVersion
	patch.Data = map[string]string{kube.CorefileKey: corefile}
	data, _ := json.Marshal(patch) // cannot fail: strings only
	roll := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, kube.CorefileHashAnnotation, kube.SHA256(corefile))
	ns := "--namespace=" + kube.CoreDNSNamespace
	return [][]string{
		{"kubectl", ns, "patch", "configmap", kube.CoreDNSConfigMap, "--type=merge", patchFlag + string(data)},
		{"kubectl", ns, "patch", "deployment", kube.CoreDNSDeployment, "--type=merge", patchFlag + roll},
		{"kubectl", ns, "rollout", "status", "deployment/" + kube.CoreDNSDeployment, "--timeout=" + p.rolloutTimeout().String()},
	}
}

// plannedCorefile reads the Corefile and resourceVersion back from an action's ConfigMap patch.
func plannedCorefile(a Action) (string, string, error) {
	if len(a.Argv) > 0 {
		for _, arg := range a.Argv[0] {
			if data, ok := strings.CutPrefix(arg, patchFlag); ok {
				var patch corefilePatch
				if err := json.Unmarshal([]byte(data), &patch); err != nil {
					return "", "", fmt.Errorf("decode the planned ConfigMap patch: %w", err)
				}
				if corefile, ok := patch.Data[kube.CorefileKey]; ok {
					return corefile, patch.Metadata.ResourceVersion, nil
				}
			}
		}
	}
	return "", "", errors.New("the action carries no Corefile patch: not a plan of this repair")
}

// manualSteps are the exact steps for a person when no working upstream is known.
func (p CoreDNSForwardBroken) manualSteps(broken []corefile.Forward, failed map[string]bool, why string) []string {
	steps := []string{
		why + ": netcert does not guess a DNS server",
		fmt.Sprintf("pick a DNS server that answers %s from inside the cluster network (e.g. the ClusterIP of an in-cluster DNS Service, port 53)", p.queryName()),
	}
	for _, f := range broken {
		var dead []string
		for _, t := range f.Targets {
			if failed[t.String()] {
				dead = append(dead, t.Raw)
			}
		}
		steps = append(steps, fmt.Sprintf("kubectl --namespace=%s edit configmap %s: on line %d (`forward %s %s`) replace %s with that server",
			kube.CoreDNSNamespace, kube.CoreDNSConfigMap, f.Line, f.From, strings.Join(corefile.Raws(f.Targets), " "), strings.Join(dead, " ")))
	}
	return append(steps,
		fmt.Sprintf("kubectl --namespace=%s rollout restart deployment/%s", kube.CoreDNSNamespace, kube.CoreDNSDeployment),
		fmt.Sprintf("kubectl --namespace=%s rollout status deployment/%s --timeout=%s", kube.CoreDNSNamespace, kube.CoreDNSDeployment, p.rolloutTimeout()),
		"or run this repair again with Upstream set to that server (IP:port)",
	)
}
