package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/netcert/netcert/kube"

	"github.com/netcert/netcert/node"
)

// Plan reads the cluster again and, for each Fail finding whose overlap is still there, deletes
// the conflicting route or address (`ip route del <its exact spec>`, `ip addr del <prefix> dev
// <dev>`) when it is not on the node's primary interface (the default route's or the
// InternalIP's), lies within a pod range, is no policy route, no ip rule refers to it, and the
// person consented (DeleteHostRanges). Everything else — the primary interface, a range
// reaching beyond the pod ranges, a pod network that overlaps the node network or the Service
// CIDR — becomes a manual step that says what to re-address; except a Calico IPPool, which
// poolRepair handles through the API.
func (p PodCIDROverlap) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	failed := findingsOf(findings, p.ID(), Fail)
	if len(failed) == 0 {
		return plan, nil
	}
	st, err := p.read(ctx, c)
	if err != nil {
		return plan, err
	}
	suggest := st.freePodSubnet()
	current := map[string]overlapConflict{}
	for _, n := range st.nodes {
		for _, cf := range p.nodeConflicts(st.api, n, suggest) {
			current[cf.Node+"\x00"+cf.Object] = cf
		}
	}
	for _, cf := range p.clusterConflicts(st, suggest) {
		current[cf.Node+"\x00"+cf.Object] = cf
	}
	seen := map[string]bool{}
	for _, f := range failed {
		cf, ok := current[f.Node+"\x00"+f.Object]
		if !ok { // gone since the check ran
			continue
		}
		if cf.Pool != nil {
			if !seen["ippool/"+cf.Pool.Name] {
				seen["ippool/"+cf.Pool.Name] = true
				r, err := p.poolRepair(ctx, c, st, cf.Pool)
				if err != nil {
					return plan, err
				}
				plan.Actions = append(plan.Actions, r.action())
			}
			continue
		}
		if cf.Argv == nil {
			if !seen[cf.Manual] {
				seen[cf.Manual] = true
				plan.Manual = append(plan.Manual, cf.Manual)
			}
			continue
		}
		why, err := p.keepHostRange(ctx, c, cf)
		if err != nil {
			return plan, err
		}
		if why != "" {
			plan.Manual = append(plan.Manual, why)
			continue
		}
		plan.Actions = append(plan.Actions, Action{Node: cf.Node, Object: cf.Object, Argv: [][]string{cf.Argv},
			Summary: fmt.Sprintf("delete %s, which overlaps a pod range: %s", cf.Object, strings.Join(cf.Argv, " "))})
	}
	return plan, nil
}

// keepHostRange says why the repair must not delete a node's route or address that
// nodeConflicts found deletable: it is a policy route, an ip rule refers to it, or the person did
// not consent (DeleteHostRanges). "" when it may.
func (p PodCIDROverlap) keepHostRange(ctx context.Context, c *Cluster, cf overlapConflict) (string, error) {
	del := strings.Join(cf.Argv, " ")
	if cf.Table != "" && cf.Table != "main" {
		return fmt.Sprintf("%s: %s is a policy route (table %s): the ip rules that look it up choose it for some traffic on purpose; netcert does not delete it: move it out of the pod ranges, or `%s` yourself",
			cf.Node, cf.Object, cf.Table, del), nil
	}
	n, err := c.nodeByName(cf.Node)
	if err != nil {
		return "", err
	}
	rules, _, err := readIPRules(ctx, n)
	if err != nil {
		return "", fmt.Errorf("%s: read the ip rules of %s to tell whether one refers to %s: %w", p.ID(), cf.Node, cf.Object, err)
	}
	if refs := rulesReferring(rules, cf.Prefix); len(refs) > 0 {
		var texts []string
		for _, r := range refs {
			texts = append(texts, r.Text)
		}
		return fmt.Sprintf("%s: ip rules refer to %s (%s): netcert does not delete what policy routing uses: `%s` yourself if that is intended",
			cf.Node, cf.Object, strings.Join(texts, "; "), del), nil
	}
	if !p.DeleteHostRanges {
		return fmt.Sprintf("%s: delete %s (`%s`): it is not on the node's primary interface, no policy route or ip rule uses it, and pod ranges hold it; "+
			"pass --delete-host-ranges to let `netcert repair --apply` delete it, or run that yourself", cf.Node, cf.Object, del), nil
	}
	return "", nil
}

// Apply deletes each planned route or address, one action at a time: it re-reads the node and
// runs the command only while the object is still there, then re-reads the node to verify it is
// gone. A plan with manual steps is refused.
func (p PodCIDROverlap) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	if len(plan.Manual) > 0 { // refused, with applyNodeCommands' own error
		return applyNodeCommands(ctx, c, plan, func(context.Context, node.Node) (Finding, error) {
			return Finding{}, fmt.Errorf("%s: a plan with manual steps is not applied", p.ID())
		})
	}
	rec := Record{Check: plan.Check}
	for _, a := range plan.Actions {
		if strings.HasPrefix(a.Object, "ippool/") {
			step, err := p.applyPool(ctx, c, a)
			rec.Steps = append(rec.Steps, step)
			if err != nil {
				return rec, err
			}
			continue
		}
		r, err := applyNodeCommands(ctx, c, Plan{Check: plan.Check, Actions: []Action{a}},
			func(ctx context.Context, n node.Node) (Finding, error) { return p.inspectObject(ctx, c, n, a.Object) })
		rec.Steps = append(rec.Steps, r.Steps...)
		if err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// inspectObject re-reads a node and returns a Fail finding while object still overlaps a pod
// range there, a Pass once it does not.
func (p PodCIDROverlap) inspectObject(ctx context.Context, c *Cluster, n node.Node, object string) (Finding, error) {
	api, err := readAPIRanges(ctx, c)
	if err != nil {
		return Finding{}, fmt.Errorf("%s: %w", p.ID(), err)
	}
	st, err := readNodeRoutes(ctx, n, api.InternalIPs[n.Name()])
	if err != nil {
		return Finding{}, fmt.Errorf("%s: %w", p.ID(), err)
	}
	for _, cf := range p.nodeConflicts(api, st, "") {
		if cf.Object == object {
			return cf.Finding, nil
		}
	}
	return Finding{Check: p.ID(), Node: n.Name(), Object: object, Status: Pass, Evidence: st.Evidence,
		Summary: object + " no longer overlaps a pod range"}, nil
}

// poolRepair is what the repair does about a Calico IPPool that overlaps the node network or the
// Service CIDR: make sure an enabled pool that overlaps nothing exists (creating one on a free
// subnet when none does), disable the pool, and recycle the pods a controller owns that have
// addresses from it, so that they come back with addresses from a valid pool, release the pool's
// IPAM blocks once they are empty (Felix routes a block to its node while the block exists), and
// then delete the pool: Felix keeps even a disabled pool in its all-ipam-pools set and does not
// SNAT pods' traffic to that range, so the hosts there would still not get replies back to pods.
// Pods without a controller are listed for a person to re-create, and so are pods whose
// controller's template or namespace pins them to the pool with Calico's ipv4pools annotation
// (their replacements would get no address from a disabled pool); their pool stays, disabled.
type poolRepair struct {
	pool    ipPool
	valid   string       // an enabled pool that overlaps nothing; "" when one is created
	create  netip.Prefix // the CIDR of the pool created when valid is ""
	recycle []corev1.Pod
	leave   []corev1.Pod     // no controller owns them
	pinned  []corev1.Pod     // their controller would make pods that ask for this pool (annotation)
	blocks  []kube.IPAMBlock // the pool's blocks that hold no address of a pod left alone
}

// kept are the pods the repair leaves with their addresses from the pool.
func (r poolRepair) kept() []corev1.Pod { return append(slices.Clone(r.leave), r.pinned...) }

// netcertPool names the IPPool the repair creates.
const netcertPool = "netcert-ippool"

func (p PodCIDROverlap) poolRepair(ctx context.Context, c *Cluster, st *overlapState, pool *ipPool) (poolRepair, error) {
	r := poolRepair{pool: *pool}
	bad := map[string]bool{}
	for _, cf := range p.clusterConflicts(st, "") {
		if cf.Pool != nil {
			bad[cf.Pool.Name] = true
		}
	}
	for _, rng := range st.api.PodNetwork {
		if rng.Pool != nil && !rng.Pool.Disabled && !bad[rng.Pool.Name] && rng.Prefix.Addr().Is4() == pool.CIDR.Addr().Is4() {
			r.valid = rng.Pool.Name
			break
		}
	}
	if r.valid == "" {
		free := st.freePodSubnet()
		if free == "" {
			return r, fmt.Errorf("%s: IPPool %s overlaps and no free subnet is left for a valid pool: create one by hand", p.ID(), pool.Name)
		}
		r.create = netip.MustParsePrefix(free)
	}
	for _, pod := range st.podsIn(pool.CIDR) {
		if metav1.GetControllerOf(&pod) == nil {
			r.leave = append(r.leave, pod)
			continue
		}
		pinned, err := replacementPinned(ctx, c, pod, *pool)
		if err != nil {
			return r, fmt.Errorf("%s: %w", p.ID(), err)
		}
		if pinned {
			r.pinned = append(r.pinned, pod)
		} else {
			r.recycle = append(r.recycle, pod)
		}
	}
	kept := r.kept()
	for _, b := range kube.BlocksIn(st.blocks, pool.CIDR) {
		if len(podsIn(kept, b.CIDR)) == 0 {
			r.blocks = append(r.blocks, b)
		}
	}
	return r, nil
}

// action is the plan's step for the pool, with the kubectl commands that do the same.
func (r poolRepair) action() Action {
	a := Action{Object: "ippool/" + r.pool.Name}
	var what []string
	if r.valid == "" {
		what = append(what, fmt.Sprintf("create IPPool %s %s (vxlanMode %s), which overlaps nothing netcert saw", netcertPool, r.create, r.pool.VXLANMode))
		a.Argv = append(a.Argv, []string{"sh", "-c", fmt.Sprintf(`printf '%%s' '{"apiVersion":"crd.projectcalico.org/v1","kind":"IPPool","metadata":{"name":%q},"spec":{"cidr":%q,"vxlanMode":%q,"ipipMode":"Never","natOutgoing":true,"nodeSelector":"all()"}}' | kubectl create -f -`,
			netcertPool, r.create.String(), r.pool.VXLANMode)})
	} else {
		what = append(what, "keep IPPool "+r.valid+", which overlaps nothing")
	}
	if !r.pool.Disabled {
		what = append(what, "disable IPPool "+r.pool.Name)
		a.Argv = append(a.Argv, []string{"kubectl", "patch", calicoIPPools.GroupResource().String(), r.pool.Name, "--type=merge", "-p", `{"spec":{"disabled":true}}`})
	}
	if len(r.recycle) > 0 {
		what = append(what, "recycle the pods a controller re-creates, through the Eviction API (as their PodDisruptionBudgets allow): "+podList(r.recycle, ""))
		for _, pod := range r.recycle {
			a.Argv = append(a.Argv, kube.EvictionArgv(pod))
		}
	}
	if len(r.blocks) > 0 {
		what = append(what, "release its IPAM blocks once they are empty: "+blockList(r.blocks))
		for _, b := range r.blocks {
			a.Argv = append(a.Argv, []string{"kubectl", "delete", kube.CalicoIPAMBlocks.GroupResource().String(), b.Name})
			if b.Affinity != "" {
				a.Argv = append(a.Argv, []string{"kubectl", "delete", kube.CalicoBlockAffinities.GroupResource().String(), b.Affinity})
			}
		}
	}
	if len(r.kept()) == 0 {
		what = append(what, "then delete IPPool "+r.pool.Name+" (Felix does not SNAT pods' traffic to a pool's range, even a disabled pool's)")
		a.Argv = append(a.Argv, []string{"kubectl", "delete", calicoIPPools.GroupResource().String(), r.pool.Name})
	}
	if len(r.leave) > 0 {
		what = append(what, "NOT recycled, no controller owns them (delete and re-create them yourself): "+podList(r.leave, ""))
	}
	if len(r.pinned) > 0 {
		what = append(what, fmt.Sprintf("NOT recycled, pinned to IPPool %s by their %s annotation (take the pool out of their controller's pod template, then delete them): %s",
			r.pool.Name, calicoIPv4PoolsAnnotation, podList(r.pinned, "")))
	}
	a.Summary = strings.Join(what, "; ")
	return a
}

// applyPool re-reads the cluster and carries out a pool action — only while the pool still
// overlaps, and only as planned — then waits for the recycled pods to be gone, releases the
// pool's blocks as they become empty, and verifies that the pool hands out no address, that no
// pod a controller owns holds one from it and that Calico routes none of it (blocks still held
// by pods without a controller stay, with those pods, for a person).
func (p PodCIDROverlap) applyPool(ctx context.Context, c *Cluster, a Action) (Step, error) {
	step := Step{Action: a}
	name := strings.TrimPrefix(a.Object, "ippool/")
	r, found, err := p.currentPoolRepair(ctx, c, name)
	if err != nil || !found {
		step.Evidence = append(step.Evidence, Evidence{Source: "IPPool " + name, Output: "no longer overlaps: nothing to do"})
		return step, err
	}
	now := r.action()
	if len(now.Argv) == 0 {
		step.Evidence = append(step.Evidence, Evidence{Source: "IPPool " + name, Output: "already done: " + now.Summary})
		return step, nil
	}
	if !slices.EqualFunc(now.Argv, a.Argv, slices.Equal) {
		return step, fmt.Errorf("%s: IPPool %s or its pods changed since the plan (it would now: %s): plan again", p.ID(), name, now.Summary)
	}
	if r.valid == "" {
		if err := kube.CreateIPPool(ctx, c.Dynamic, netcertPool, r.create, r.pool.VXLANMode); err != nil {
			return step, fmt.Errorf("%s: %w", p.ID(), err)
		}
		step.Changed = true
	}
	if !r.pool.Disabled {
		if err := kube.SetIPPoolDisabled(ctx, c.Dynamic, name, true); err != nil {
			return step, fmt.Errorf("%s: %w", p.ID(), err)
		}
		step.Changed = true
	}
	evictions := podEvictions{asked: map[types.UID]bool{}}
	deadline := time.Now().Add(p.recycleTimeout())
	for {
		r, found, err = p.currentPoolRepair(ctx, c, name)
		if err != nil {
			return step, err
		}
		if !found {
			break
		}
		if err := evictions.ask(ctx, c, r.recycle); err != nil {
			return step, fmt.Errorf("%s: IPPool %s: %w", p.ID(), name, err)
		}
		step.Changed = step.Changed || len(evictions.asked) > 0
		if r.pool.Disabled && len(r.recycle) == 0 {
			released, busy, err := releaseEmptyBlocks(ctx, c, r.blocks)
			if err != nil {
				return step, fmt.Errorf("%s: IPPool %s: %w", p.ID(), name, err)
			}
			step.Changed = step.Changed || released
			if !busy {
				if len(r.kept()) > 0 {
					break // the pods left alone keep their addresses, blocks and pool
				}
				err := c.Dynamic.Resource(calicoIPPools).Delete(ctx, name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					return step, fmt.Errorf("%s: delete IPPool %s: %w", p.ID(), name, err)
				}
				step.Changed = true
				continue // read again: the pool is gone
			}
		}
		if time.Now().After(deadline) {
			return step, fmt.Errorf("%s: after %s IPPool %s still hands out addresses or pods a controller owns still hold them: %s%s",
				p.ID(), p.recycleTimeout(), name, r.action().Summary, evictions.blockedText())
		}
		select {
		case <-ctx.Done():
			return step, ctx.Err()
		case <-time.After(p.pollInterval()):
		}
	}
	out := fmt.Sprintf("IPPool %s is deleted: no pod has an address from it and Calico routes none of it", name)
	if found && len(r.kept()) > 0 {
		out = fmt.Sprintf("IPPool %s is disabled and every pod the repair could recycle was; left for a person: %s", name, podList(r.kept(), ""))
	}
	step.Evidence = append(step.Evidence, Evidence{Source: "LIST ippools.crd.projectcalico.org, pods", Output: out})
	return step, nil
}

// releaseEmptyBlocks releases the blocks without an address in use; released reports whether
// there was one, busy whether a block still has an address in use.
func releaseEmptyBlocks(ctx context.Context, c *Cluster, blocks []kube.IPAMBlock) (released, busy bool, err error) {
	for _, b := range blocks {
		if b.InUse > 0 {
			busy = true
			continue
		}
		if err := kube.ReleaseEmptyIPAMBlock(ctx, c.Dynamic, b); err != nil {
			return released, busy, err
		}
		released = true
	}
	return released, busy, nil
}

// currentPoolRepair re-reads the cluster and returns the repair a pool needs now; found is false
// when the pool no longer overlaps.
func (p PodCIDROverlap) currentPoolRepair(ctx context.Context, c *Cluster, name string) (poolRepair, bool, error) {
	st, err := p.read(ctx, c)
	if err != nil {
		return poolRepair{}, false, err
	}
	for _, cf := range p.clusterConflicts(st, "") {
		if cf.Pool != nil && cf.Pool.Name == name {
			r, err := p.poolRepair(ctx, c, st, cf.Pool)
			return r, true, err
		}
	}
	return poolRepair{}, false, nil
}

func (p PodCIDROverlap) recycleTimeout() time.Duration {
	if p.RecycleTimeout == 0 {
		return 2 * time.Minute
	}
	return p.RecycleTimeout
}

func (p PodCIDROverlap) pollInterval() time.Duration {
	if p.PollInterval == 0 {
		return kube.DefaultPollInterval
	}
	return p.PollInterval
}
