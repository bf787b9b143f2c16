package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/node"
)

// CNIBridgeWrongAddress is the check and repair for cni-bridge-wrong-address: the pod bridge
// holds an IPv4 address outside the node's podCIDR, or none inside it. The pods' gateway (the
// podCIDR's first address) is then missing, and the bridge plugin refuses every new pod on the
// node ("already has an IP address different from").
type CNIBridgeWrongAddress struct{}

// ID returns "cni-bridge-wrong-address".
func (CNIBridgeWrongAddress) ID() string { return "cni-bridge-wrong-address" }

// podCIDRs reads every node's IPv4 podCIDR from the API.
func podCIDRs(ctx context.Context, c *Cluster) (map[string]netip.Prefix, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("the nodes' podCIDRs: no API client")
	}
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := map[string]netip.Prefix{}
	for _, n := range nodes.Items {
		for _, s := range append([]string{n.Spec.PodCIDR}, n.Spec.PodCIDRs...) {
			if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
				out[n.Name] = p.Masked()
			}
		}
	}
	return out, nil
}

// gateway is the bridge address the bridge plugin gives a podCIDR: its first address.
func gateway(podCIDR netip.Prefix) netip.Prefix {
	return netip.PrefixFrom(podCIDR.Addr().Next(), podCIDR.Bits())
}

// inspector returns the check of one bridge against the podCIDRs.
func (p CNIBridgeWrongAddress) inspector(cidrs map[string]netip.Prefix) func(node.Node, *nodeLinks, iproute.Link) Finding {
	return func(n node.Node, l *nodeLinks, b iproute.Link) Finding {
		podCIDR, ok := cidrs[n.Name()]
		if !ok {
			return Finding{Status: NotApplicable, Summary: "the node has no IPv4 podCIDR in the API: its bridge's address cannot be judged"}
		}
		var inside, outside []string
		for _, a := range l.ipv4(b.Name) {
			if podCIDR.Contains(a.Addr()) {
				inside = append(inside, a.String())
			} else {
				outside = append(outside, a.String())
			}
		}
		var problems []string
		if len(outside) > 0 {
			problems = append(problems, fmt.Sprintf("%s holds %s, outside the node's podCIDR %s: the bridge plugin refuses new pods (\"already has an IP address different from\")",
				b.Name, strings.Join(outside, ", "), podCIDR))
		}
		if len(inside) == 0 {
			problems = append(problems, fmt.Sprintf("%s holds no address in %s: the pods' gateway %s is gone, and with it the node's route to its pods", b.Name, podCIDR, gateway(podCIDR).Addr()))
		}
		if len(problems) > 0 {
			return Finding{Status: Fail, Summary: strings.Join(problems, "; ")}
		}
		return Finding{Status: Pass, Summary: fmt.Sprintf("%s holds %s, in the node's podCIDR %s", b.Name, strings.Join(inside, ", "), podCIDR)}
	}
}

// Run reads every node's pod bridge addresses against its podCIDR.
func (p CNIBridgeWrongAddress) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	cidrs, err := podCIDRs(ctx, c)
	if err != nil {
		return nil, err
	}
	return bridgeCheck(ctx, c, p.ID(), p.inspector(cidrs))
}

// Plan deletes the bridge's addresses outside the node's podCIDR and adds the gateway address
// when none inside is left: what the bridge plugin would have set.
func (p CNIBridgeWrongAddress) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	if len(findingsOf(findings, p.ID(), Fail)) == 0 {
		return Plan{Check: p.ID()}, nil
	}
	cidrs, err := podCIDRs(ctx, c)
	if err != nil {
		return Plan{Check: p.ID()}, err
	}
	return planBridges(ctx, c, findings, p.ID(), func(f Finding, l *nodeLinks) (Action, bool) {
		bridge, podCIDR := linkName(f.Object), cidrs[f.Node]
		var a Action
		hasGateway := false
		for _, addr := range l.ipv4(bridge) {
			if podCIDR.Contains(addr.Addr()) {
				hasGateway = true
				continue
			}
			a.Argv = append(a.Argv, []string{"ip", "addr", "del", addr.String(), "dev", bridge})
		}
		a.Summary = fmt.Sprintf("delete %s's addresses outside %s", bridge, podCIDR)
		if !hasGateway {
			a.Argv = append(a.Argv, []string{"ip", "addr", "add", gateway(podCIDR).String(), "dev", bridge})
			a.Summary += fmt.Sprintf(", and give it the pods' gateway %s", gateway(podCIDR))
		}
		return a, len(a.Argv) > 0
	})
}

// Apply changes the addresses, then reads the node again.
func (p CNIBridgeWrongAddress) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	cidrs, err := podCIDRs(ctx, c)
	if err != nil {
		return Record{Check: p.ID()}, err
	}
	return applyLinkActions(ctx, c, plan, p.ID(), p.inspector(cidrs))
}
