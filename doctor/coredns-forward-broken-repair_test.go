package doctor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"

	"github.com/netcert/netcert/kube/kubetest"
)

// forwardBrokenPlan runs the check on a Corefile that forwards to the dead upstream and plans the repair.
func forwardBrokenPlan(t *testing.T, p CoreDNSForwardBroken, c *Cluster) Plan {
	t.Helper()
	ctx := context.Background()
	findings, err := p.Run(ctx, c)
	require.NoError(t, err)
	require.Len(t, Failed(findings), 1)
	plan, err := p.Plan(ctx, c, findings)
	require.NoError(t, err)
	return plan
}

func TestCoreDNSForwardBrokenPlanFromTheConfiguredUpstream(t *testing.T) {
	// Two targets, one dead: only the dead one is replaced, options and comments stay.
	src := strings.Replace(readCorefileFixture(t, "kubeadm-v1.34.Corefile"),
		"forward . /etc/resolv.conf {", "forward . 10.96.0.99 10.96.0.53 { # upstreams", 1)
	c, _, _ := corednsCluster(t, src, "10.96.0.53:53")
	p := forwardCheck
	p.Upstream = "10.96.12.34"
	plan := forwardBrokenPlan(t, p, c)
	require.Len(t, plan.Actions, 1)
	assert.Empty(t, plan.Manual)
	a := plan.Actions[0]
	assert.Equal(t, "configmap/kube-system/coredns", a.Object)
	assert.Contains(t, a.Summary, "with the configured upstream 10.96.12.34:53: line 13 `forward . 10.96.0.99 10.96.0.53` -> `forward . 10.96.12.34:53 10.96.0.53`")
	want, rv, err := plannedCorefile(a)
	require.NoError(t, err)
	assert.Equal(t, "1", rv)
	assert.Equal(t, strings.Replace(src, "forward . 10.96.0.99 10.96.0.53 {", "forward . 10.96.12.34:53 10.96.0.53 {", 1), want)
	require.Len(t, a.Argv, 3)
	assert.Equal(t, []string{"kubectl", "--namespace=kube-system", "patch", "deployment", "coredns", "--type=merge",
		`--patch={"spec":{"template":{"metadata":{"annotations":{"netcert.io/corefile-sha256":"` + kube.SHA256(want) + `"}}}}}`}, a.Argv[1])
	assert.Equal(t, "--timeout=5s", a.Argv[2][len(a.Argv[2])-1])

	p.Upstream = "dns.example"
	_, err = p.Plan(context.Background(), c, []Finding{{Check: p.ID(), Status: Fail, Object: corednsObject + " forward 10.96.0.99:53"}})
	assert.ErrorContains(t, err, `Upstream "dns.example" is not an IP or IP:port`)
}

func TestCoreDNSForwardBrokenPlanFromTheKnownGoodCorefile(t *testing.T) {
	healthy := hermeticCorefile(t, corednsLiveUpstream)
	c, cs, _ := corednsCluster(t, healthy, corednsLiveUpstream)
	ctx := context.Background()
	kept, _, err := SnapshotCorefile(ctx, c, forwardCheck) // keeps the known-good Corefile
	require.NoError(t, err)
	require.True(t, kept)

	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	cm.Data["Corefile"] = hermeticCorefile(t, corednsDeadUpstream)
	_, err = cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)

	plan := forwardBrokenPlan(t, forwardCheck, c)
	require.Len(t, plan.Actions, 1)
	assert.Contains(t, plan.Actions[0].Summary, "the targets of the last known-good Corefile (configmap/kube-system/netcert-known-good-corefile)")
	want, _, err := plannedCorefile(plan.Actions[0])
	require.NoError(t, err)
	assert.Equal(t, healthy, want, "the known-good forward line comes back, every other byte unchanged")
}

func TestCoreDNSForwardBrokenManualPlan(t *testing.T) {
	c, _, _ := corednsCluster(t, hermeticCorefile(t, corednsDeadUpstream))
	plan := forwardBrokenPlan(t, forwardCheck, c)
	assert.Empty(t, plan.Actions)
	require.NotEmpty(t, plan.Manual)
	steps := strings.Join(plan.Manual, "\n")
	assert.Contains(t, steps, "no Upstream is configured and no known-good Corefile was kept")
	assert.Contains(t, steps, "kubectl --namespace=kube-system edit configmap coredns: on line 14 (`forward . 10.96.0.99:53`) replace 10.96.0.99:53 with that server")
	assert.Contains(t, steps, "kubectl --namespace=kube-system rollout status deployment/coredns --timeout=5s")
	_, err := forwardCheck.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "needs manual steps")

	// A configured upstream that is itself the dead target cannot help either.
	p := forwardCheck
	p.Upstream = corednsDeadUpstream
	plan = forwardBrokenPlan(t, p, c)
	assert.Contains(t, strings.Join(plan.Manual, "\n"), "the configured upstream 10.96.0.99:53 has no target for line 14 that did not fail")
}

func TestCoreDNSForwardBrokenApplyIsVerifiedAndIdempotent(t *testing.T) {
	c, cs, prober := corednsCluster(t, hermeticCorefile(t, corednsDeadUpstream), corednsLiveUpstream)
	p := forwardCheck
	p.Upstream = corednsLiveUpstream
	plan := forwardBrokenPlan(t, p, c)
	ctx := context.Background()

	rec, err := p.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)
	want := hermeticCorefile(t, corednsLiveUpstream)
	assert.Equal(t, want, corefileOf(t, c))
	d, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, kube.SHA256(want), d.Spec.Template.Annotations["netcert.io/corefile-sha256"])
	done, _ := kube.RolloutComplete(d)
	assert.True(t, done, "Apply waited for the rollout")
	assert.Equal(t, "10.96.12.34:53 probe.netcert.test.", prober.calls[len(prober.calls)-1], "the new target was probed")
	ev := rec.Steps[0].Evidence
	assert.Equal(t, "2 of 2 replicas updated and ready (generation 2)", ev[len(ev)-2].Output)

	updates := countCoreDNSActions(cs, "update", "configmaps") + countCoreDNSActions(cs, "update", "deployments")
	rec, err = p.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.False(t, rec.Steps[0].Changed, "the Corefile and the annotation are already in place")
	assert.Equal(t, updates, countCoreDNSActions(cs, "update", "configmaps")+countCoreDNSActions(cs, "update", "deployments"))

	findings, err := p.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings))
	assert.Empty(t, kubetest.Disallowed(t, cs.Actions(), "netcert-doctor", "netcert-repair"), "fixtures/netcert-rbac.yaml allows what the repair calls")
}

func TestCoreDNSForwardBrokenApplyRefusesAStalePlan(t *testing.T) {
	c, cs, _ := corednsCluster(t, hermeticCorefile(t, corednsDeadUpstream), corednsLiveUpstream)
	p := forwardCheck
	p.Upstream = corednsLiveUpstream
	plan := forwardBrokenPlan(t, p, c)
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	cm.Data["Corefile"] += "# edited by someone else\n"
	cm.ResourceVersion = "2"
	_, err = cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)

	_, err = p.Apply(ctx, c, plan)
	assert.ErrorContains(t, err, "changed since the plan (resourceVersion 2, planned 1): plan again")
	assert.Contains(t, corefileOf(t, c), "# edited by someone else")
}

func TestCoreDNSForwardBrokenApplyReportsAFailedVerification(t *testing.T) {
	c, _, prober := corednsCluster(t, hermeticCorefile(t, corednsDeadUpstream), corednsLiveUpstream)
	p := forwardCheck
	p.Upstream = corednsLiveUpstream
	plan := forwardBrokenPlan(t, p, c)
	delete(prober.alive, corednsLiveUpstream) // the upstream dies before the repair lands
	_, err := p.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "verify: 10.96.12.34:53 still does not answer probe.netcert.test.")

	c.Probe = nil
	_, err = p.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "no prober to verify the repair with")
}

func TestCoreDNSForwardBrokenApplyBoundsTheRollout(t *testing.T) {
	c, _, _ := corednsClusterRolling(t, hermeticCorefile(t, corednsDeadUpstream), 1<<30, corednsLiveUpstream) // never rolls out
	p := forwardCheck
	p.Upstream = corednsLiveUpstream
	plan := forwardBrokenPlan(t, p, c)
	p.RolloutTimeout = 50 * time.Millisecond
	rec, err := p.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "deployment kube-system/coredns not rolled out after 50ms: generation 2 not yet observed (observed 1)")
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed, "the record shows what was changed before the timeout")
}
