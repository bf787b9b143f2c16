package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor/internal/iproute"
)

// consented is the repair with the person's consent to delete a node's overlapping routes and
// addresses.
var consented = PodCIDROverlap{DeleteHostRanges: true}

// overlapPlan runs the check and plans its repair.
func overlapPlan(t *testing.T, c *Cluster) ([]Finding, Plan) {
	t.Helper()
	findings, err := PodCIDROverlap{}.Run(context.Background(), c)
	require.NoError(t, err)
	plan, err := consented.Plan(context.Background(), c, findings)
	require.NoError(t, err)
	return findings, plan
}

func countCalls(n *ipNode, prefix string) int {
	count := 0
	for _, call := range n.Calls() {
		if strings.HasPrefix(call, prefix) {
			count++
		}
	}
	return count
}

func TestPodCIDROverlapRepairDeletesTheRouteVerifiedAndIdempotent(t *testing.T) {
	ctx := context.Background()
	c, cp, _ := overlapCluster(t, healthyAPI, "flannel-cp-fault", "flannel-worker")
	_, plan := overlapPlan(t, c)
	require.Empty(t, plan.Manual)
	require.Len(t, plan.Actions, 1)
	a := plan.Actions[0]
	assert.Equal(t, "kind-control-plane", a.Node)
	assert.Equal(t, "route 10.244.1.0/25 dev ncfault0", a.Object)
	assert.Equal(t, [][]string{{"ip", "route", "del", "10.244.1.0/25", "dev", "ncfault0"}}, a.Argv)

	rec, err := PodCIDROverlap{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 1)
	assert.True(t, rec.Steps[0].Changed)
	assert.Equal(t, "kind-control-plane$ ip route del 10.244.1.0/25 dev ncfault0", rec.Steps[0].Evidence[0].Source)

	findings, err := PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings), "verified by re-inspecting")

	rec, err = PodCIDROverlap{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	assert.False(t, rec.Steps[0].Changed, "the route is already gone")
	assert.Equal(t, 1, countCalls(cp, "ip route del"), "the second Apply changed nothing")

	plan, err = consented.Plan(ctx, c, Failed([]Finding{{Check: "pod-cidr-overlap", Node: a.Node, Object: a.Object, Status: Fail}}))
	require.NoError(t, err)
	assert.True(t, plan.Empty(), "a plan for an overlap that is gone is empty")
}

func TestPodCIDROverlapRepairPlansTheExactSpecs(t *testing.T) {
	ctx := context.Background()
	c, _, w := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker-vlan")
	_, plan := overlapPlan(t, c)
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "kind-worker: route 10.244.64.0/18 dev eth1 table 100 is a policy route (table 100)")
	var argv [][]string
	for _, a := range plan.Actions {
		assert.Equal(t, "kind-worker", a.Node)
		argv = append(argv, a.Argv...)
	}
	// Each form was run against a real kernel: routes go first, as deleting eth1's last address
	// flushes every route through eth1.
	assert.Equal(t, [][]string{
		{"ip", "route", "del", "10.244.128.0/17", "via", "10.244.0.1", "dev", "eth1", "proto", "static", "metric", "100"},
		{"ip", "addr", "del", "10.244.0.254/24", "dev", "eth1"},
	}, argv)

	plan.Manual = nil // the person took care of the policy route
	rec, err := PodCIDROverlap{}.Apply(ctx, c, plan)
	require.NoError(t, err)
	require.Len(t, rec.Steps, 2)
	for _, s := range rec.Steps {
		assert.True(t, s.Changed, s.Action.Object)
	}
	findings, err := PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	assert.Empty(t, Failed(findings), "the policy route went with eth1's last address")
	routes := w.parsedRoutes(t)
	assert.Contains(t, specsOf(routes), "10.244.0.0/24 via 10.244.0.0 dev flannel.1", "Flannel's route stays")
	assert.NotContains(t, specsOf(routes), "10.244.0.0/24 dev eth1 proto kernel", "the address took its route with it")
}

func TestPodCIDROverlapRepairSkipsWhatAnEarlierDeletionTookAlong(t *testing.T) {
	c, _, w := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker-vlan")
	_, plan := overlapPlan(t, c)
	require.Len(t, plan.Actions, 2)
	plan.Actions[0], plan.Actions[1] = plan.Actions[1], plan.Actions[0] // the address first
	plan.Manual = nil
	rec, err := PodCIDROverlap{}.Apply(context.Background(), c, plan)
	require.NoError(t, err)
	var changed []bool
	for _, s := range rec.Steps {
		changed = append(changed, s.Changed)
	}
	assert.Equal(t, []bool{true, false}, changed, "the routes through eth1 went with its last address")
	assert.Zero(t, countCalls(w, "ip route del"))
}

// netcert deletes a node's route or address only with the person's consent, and never one that
// policy routing uses: an ip rule that names a range overlapping it makes it a manual step.
func TestPodCIDROverlapRepairNeedsConsentAndLeavesWhatIPRulesUse(t *testing.T) {
	ctx := context.Background()
	c, cp, _ := overlapCluster(t, healthyAPI, "flannel-cp-fault", "flannel-worker")
	findings, err := PodCIDROverlap{}.Run(ctx, c)
	require.NoError(t, err)
	plan, err := PodCIDROverlap{}.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Empty(t, plan.Actions, "no consent, no deletion")
	require.Len(t, plan.Manual, 1)
	assert.Contains(t, plan.Manual[0], "kind-control-plane: delete route 10.244.1.0/25 dev ncfault0 (`ip route del 10.244.1.0/25 dev ncfault0`): "+
		"it is not on the node's primary interface, no policy route or ip rule uses it, and pod ranges hold it; pass --delete-host-ranges")

	for rule, text := range map[string]string{
		`{"priority":100,"src":"10.244.1.0","srclen":26,"table":"7"}`:                            "100: from 10.244.1.0/26 lookup 7",
		`{"priority":100,"src":"all","dst":"10.244.0.0","dstlen":16,"fwmark":"0x1","table":"7"}`: "100: from all to 10.244.0.0/16 fwmark 0x1 lookup 7",
	} {
		cp.rules = "[" + rule + "," + defaultIPRules[1:]
		plan, err = consented.Plan(ctx, c, findings)
		require.NoError(t, err)
		assert.Empty(t, plan.Actions, rule)
		require.Len(t, plan.Manual, 1)
		assert.Contains(t, plan.Manual[0], "kind-control-plane: ip rules refer to route 10.244.1.0/25 dev ncfault0 ("+text+")")
	}
	cp.rules = `[{"priority":100,"src":"10.99.0.0","srclen":16,"table":"7"},` + defaultIPRules[1:]
	plan, err = consented.Plan(ctx, c, findings)
	require.NoError(t, err)
	assert.Len(t, plan.Actions, 1, "a rule about another range does not hold it")
}

func TestPodCIDROverlapRepairReportsAFailedVerification(t *testing.T) {
	c, cp, _ := overlapCluster(t, healthyAPI, "flannel-cp-fault", "flannel-worker")
	_, plan := overlapPlan(t, c)
	cp.Handle("ip route del", func([]string) (string, int) { return "", 0 }) // claims success, changes nothing
	_, err := PodCIDROverlap{}.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "pod-cidr-overlap on kind-control-plane: still Fail after the repair: route 10.244.1.0/25 dev ncfault0")
}

func TestPodCIDROverlapManualOnThePrimaryInterface(t *testing.T) {
	c, cp, _ := overlapCluster(t, healthyAPI, "flannel-cp-eth0", "flannel-worker")
	findings, plan := overlapPlan(t, c)
	require.Len(t, Failed(findings), 1)
	assert.Equal(t, "route 10.244.1.0/25 via 172.18.0.1 dev eth0", Failed(findings)[0].Object)
	assert.Empty(t, plan.Actions)
	assert.Equal(t, []string{"kind-control-plane: route 10.244.1.0/25 via 172.18.0.1 dev eth0 is on the node's primary interface " +
		"eth0, which netcert does not change: move 10.244.1.0/25 out of the pod ranges it overlaps (10.244.0.0/16, 10.244.1.0/24), " +
		"or re-create the cluster with a pod subnet that does not overlap 10.244.1.0/25, e.g. 10.42.0.0/16 (no node address, " +
		"route or Service CIDR netcert saw overlaps it)"}, plan.Manual)
	_, err := PodCIDROverlap{}.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "needs manual steps")
	assert.Zero(t, countCalls(cp, "ip route del"))
}

func TestPodCIDROverlapManualOnTheDefaultRouteInterfaceAndWideRoutes(t *testing.T) {
	// eth0 keeps the InternalIP, the default route goes out of eth1, eth2 routes all of 10/8.
	c, _, w := overlapCluster(t, healthyAPI, "flannel-cp", "flannel-worker-3nic")
	findings, plan := overlapPlan(t, c)
	var objects []string
	for _, f := range Failed(findings) {
		objects = append(objects, f.Object)
	}
	assert.Equal(t, []string{"route 10.0.0.0/8 via 192.168.50.1 dev eth2", "pod network 10.244.0.0/16"}, objects,
		"eth1 carries the default route: its subnet is node network too, compared cluster-wide")
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 2)
	assert.Equal(t, "kind-worker: route 10.0.0.0/8 via 192.168.50.1 dev eth2 reaches beyond the pod ranges it overlaps "+
		"(10.244.0.0/16, 10.244.0.0/24, 10.244.1.0/24): deleting it would cut the node off from the rest of 10.0.0.0/8; "+
		"narrow it to leave those ranges out, or re-address that network", plan.Manual[0])
	assert.Equal(t, "re-create the cluster with a pod subnet that does not overlap 10.244.0.128/25, e.g. 172.16.0.0/16 (no node "+
		"address, route or Service CIDR netcert saw overlaps it); or move the host network off the pod network 10.244.0.0/16 "+
		"(Flannel's Network): re-address the node network 10.244.0.128/25 (kind-worker eth1 10.244.0.130/25)", plan.Manual[1])
	assert.Zero(t, countCalls(w, "ip route del")+countCalls(w, "ip addr del"))
}

func TestPodCIDROverlapManualForAnOverlappingPodSubnet(t *testing.T) {
	api := overlapAPI{cp: "10.250.0.2", worker: "10.250.0.3", cpCIDR: "10.250.0.0/24", wCIDR: "10.250.1.0/24",
		network: "10.250.0.0/16", service: "10.96.0.0/16"}
	c, _, _ := overlapCluster(t, api, "overlap-cp", "overlap-worker")
	_, plan := overlapPlan(t, c)
	assert.Empty(t, plan.Actions)
	require.Len(t, plan.Manual, 1)
	assert.Equal(t, "re-create the cluster with a pod subnet that does not overlap 10.250.0.0/16, e.g. 10.244.0.0/16 "+
		"(no node address, route or Service CIDR netcert saw overlaps it); or move the host network off the pod network "+
		"10.250.0.0/16 (Flannel's Network): re-address the node network 10.250.0.0/16 "+
		"(kind-control-plane eth0 10.250.0.2/16, kind-worker eth0 10.250.0.3/16)", plan.Manual[0])
	_, err := PodCIDROverlap{}.Apply(context.Background(), c, plan)
	assert.ErrorContains(t, err, "needs manual steps")
}

func specsOf(routes []iproute.Route) []string {
	var s []string
	for _, r := range routes {
		s = append(s, r.String())
	}
	return s
}
