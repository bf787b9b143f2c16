package doctor

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
)

// CalicoIPPoolExhausted is the check for calico-ippool-exhausted: Calico's IPAM has no address
// to give a new pod, because every IPPool is disabled, no enabled pool's nodeSelector selects
// the pod's node, or the enabled pools are full. Running pods keep working; new ones wait for
// their network (the CNI plugin's "no configured Calico pools for node").
// The repair is a manual plan: enabling a pool someone disabled, or choosing a new range, is the
// cluster owner's decision.
type CalicoIPPoolExhausted struct{}

// ID returns "calico-ippool-exhausted".
func (CalicoIPPoolExhausted) ID() string { return "calico-ippool-exhausted" }

// poolNearlyFull is the share of an enabled pool's addresses in use from which the check warns.
const poolNearlyFull = 0.95

// poolUse is what the enabled pools hold.
type poolUse struct {
	enabled, disabled []ipPool
	size, used        int
}

func readPoolUse(ctx context.Context, c *Cluster) (poolUse, []Evidence, error) {
	pools, ev, err := readIPPools(ctx, c)
	if err != nil {
		return poolUse{}, nil, err
	}
	blocks, err := kube.ListIPAMBlocks(ctx, c.Dynamic)
	if err != nil {
		return poolUse{}, nil, err
	}
	var u poolUse
	for _, p := range pools {
		if p.Disabled {
			u.disabled = append(u.disabled, p)
			continue
		}
		u.enabled = append(u.enabled, p)
		u.size += 1 << (p.CIDR.Addr().BitLen() - p.CIDR.Bits())
		for _, b := range kube.BlocksIn(blocks, p.CIDR) {
			u.used += b.InUse
		}
	}
	return u, []Evidence{ev, {Source: "LIST " + kube.CalicoIPAMBlocks.GroupResource().String(), Output: blockList(blocks)}}, nil
}

func poolNames(pools []ipPool) string {
	var s []string
	for _, p := range pools {
		s = append(s, p.Name+" "+p.CIDR.String())
	}
	return strings.Join(s, ", ")
}

// Run reads the IPPools and IPAM blocks; on other CNIs it is not applicable.
func (p CalicoIPPoolExhausted) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	if c.CNI != "calico" {
		return []Finding{{Check: p.ID(), Status: NotApplicable, Summary: fmt.Sprintf("the CNI is %s, not Calico", orUnknown(c.CNI))}}, nil
	}
	u, ev, err := readPoolUse(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	f := Finding{Check: p.ID(), Object: "ippools", Evidence: ev}
	unserved, err := unservedNodes(ctx, c, u.enabled)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID(), err)
	}
	waiting := stuckPods(ctx, c, "")
	switch {
	case len(u.enabled) == 0 && len(u.disabled) == 0:
		f.Status, f.Summary = Fail, "no IPPool: Calico's IPAM has no address for a new pod"+waiting
	case len(u.enabled) == 0:
		f.Status, f.Summary = Fail, fmt.Sprintf("every IPPool is disabled (%s): Calico's IPAM gives a new pod no address; running pods keep theirs%s", poolNames(u.disabled), waiting)
	case len(unserved) > 0:
		f.Status, f.Summary = Fail, fmt.Sprintf("no enabled IPPool selects node(s) %s (%s): a new pod there gets no address; running pods keep theirs%s", strings.Join(unserved, ", "), poolSelectors(u.enabled), waiting)
	case u.used >= u.size:
		f.Status, f.Summary = Fail, fmt.Sprintf("the enabled IPPools (%s) are full: %d of %d addresses in use, none for a new pod%s", poolNames(u.enabled), u.used, u.size, waiting)
	case float64(u.used) >= poolNearlyFull*float64(u.size):
		f.Status, f.Summary = Warn, fmt.Sprintf("the enabled IPPools (%s) are nearly full: %d of %d addresses in use", poolNames(u.enabled), u.used, u.size)
	default:
		f.Status, f.Summary = Pass, fmt.Sprintf("%d enabled IPPool(s) (%s): %d of %d addresses free, every node selected", len(u.enabled), poolNames(u.enabled), u.size-u.used, u.size)
	}
	return []Finding{f}, nil
}

// Plan is a manual step: enable a disabled pool, or add a pool.
func (p CalicoIPPoolExhausted) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	if len(findingsOf(findings, p.ID(), Fail)) == 0 {
		return plan, nil
	}
	u, _, err := readPoolUse(ctx, c)
	if err != nil {
		return plan, fmt.Errorf("%s: %w", p.ID(), err)
	}
	if unserved, err := unservedNodes(ctx, c, u.enabled); err != nil {
		return plan, fmt.Errorf("%s: %w", p.ID(), err)
	} else if len(unserved) > 0 {
		for _, pool := range u.enabled {
			plan.Manual = append(plan.Manual, fmt.Sprintf("IPPool %s (%s) has nodeSelector %q, which selects none of %s: if its pods belong there, widen it: kubectl patch ippools.crd.projectcalico.org %s --type=merge -p '{\"spec\":{\"nodeSelector\":\"all()\"}}' (or a selector those nodes match); else add a pool for them", pool.Name, pool.CIDR, pool.NodeSelector, strings.Join(unserved, ", "), pool.Name))
		}
	}
	for _, pool := range u.disabled {
		plan.Manual = append(plan.Manual, fmt.Sprintf("IPPool %s (%s) is disabled: if nothing replaces it, enable it: kubectl patch ippools.crd.projectcalico.org %s --type=merge -p '{\"spec\":{\"disabled\":false}}' (if it was disabled to move the pods to another range, create that range's IPPool instead)", pool.Name, pool.CIDR, pool.Name))
	}
	if len(u.enabled) > 0 && u.used >= u.size {
		plan.Manual = append(plan.Manual, fmt.Sprintf("the enabled IPPools (%s) are full: add an IPPool for a free range of the pod network (one that overlaps neither the node network nor the Service CIDR), or free addresses (pods stuck terminating, leaked IPAM handles: `calicoctl ipam check`)", poolNames(u.enabled)))
	}
	if len(plan.Manual) == 0 {
		plan.Manual = append(plan.Manual, "no IPPool exists: create one for the cluster's pod network (Calico's default: the kubeadm pod subnet, VXLAN as the cluster's other settings say)")
	}
	return plan, nil
}

// Apply refuses: a pool is the cluster owner's decision.
func (p CalicoIPPoolExhausted) Apply(_ context.Context, _ *Cluster, plan Plan) (Record, error) {
	return Record{Check: p.ID()}, refuseManual(plan)
}

// poolSelectors names the pools with their nodeSelectors.
func poolSelectors(pools []ipPool) string {
	var s []string
	for _, p := range pools {
		s = append(s, fmt.Sprintf("%s nodeSelector %q", p.Name, p.NodeSelector))
	}
	return strings.Join(s, ", ")
}

// unservedNodes returns the nodes no enabled pool's nodeSelector selects; a selector netcert
// cannot evaluate counts as selecting (no alarm on what it cannot read).
func unservedNodes(ctx context.Context, c *Cluster, enabled []ipPool) ([]string, error) {
	if len(enabled) == 0 || c.Client == nil {
		return nil, nil
	}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var out []string
	for _, n := range nodes.Items {
		served := false
		for _, p := range enabled {
			if ok, known := calicoSelects(p.NodeSelector, n.Labels); ok || !known {
				served = true
			}
		}
		if !served {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

// calicoSelector is one term of Calico's selector syntax that netcert evaluates.
var calicoSelector = regexp.MustCompile(`^(!?)(?:has\(([\w./-]+)\)|([\w./-]+)\s*(==|!=)\s*['"]([^'"]*)['"])$`)

// calicoSelects evaluates a Calico selector on labels: all(), !all(), has(k), !has(k), k == 'v',
// k != 'v', and && of those; known is false for anything else.
func calicoSelects(sel string, labels map[string]string) (selects, known bool) {
	sel = strings.TrimSpace(sel)
	switch sel {
	case "", "all()":
		return true, true
	case "!all()":
		return false, true
	}
	selects = true
	for _, term := range strings.Split(sel, "&&") {
		m := calicoSelector.FindStringSubmatch(strings.TrimSpace(term))
		if m == nil {
			return false, false
		}
		var ok bool
		if m[2] != "" {
			_, ok = labels[m[2]]
		} else {
			ok = (labels[m[3]] == m[5]) == (m[4] == "==")
		}
		if m[1] == "!" {
			ok = !ok
		}
		selects = selects && ok
	}
	return selects, true
}
