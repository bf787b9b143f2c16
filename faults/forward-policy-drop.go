package faults

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/node"
)

// ForwardPolicyDrop makes a base chain on Node's forward hook drop every packet no rule of it
// accepts, and none accepts the pods', as a hardening script or a host firewall does: the node
// drops the pods' routed traffic (to and from other nodes, the outside, Service endpoints
// elsewhere), whatever the CNI's and kube-proxy's chains accept. Mode picks the chain:
//   - ForwardPolicyDropLegacy (the default): `iptables-legacy -w -t filter -P FORWARD DROP`,
//     while the CNI and kube-proxy write their accepts through iptables-nft;
//   - ForwardPolicyDropNftTable: a native table inet netcert-fault-forward whose forward base
//     chain, at priority filter, has policy drop and no rule.
//
// Revert sets back the legacy policy it read, or deletes that table.
type ForwardPolicyDrop struct {
	Node string // the node whose forward hook drops
	Mode string // one of the ForwardPolicyDrop* modes; "" means ForwardPolicyDropLegacy
}

// The modes of ForwardPolicyDrop, and the nft table it creates.
const (
	ForwardPolicyDropLegacy   = "legacy-policy"
	ForwardPolicyDropNftTable = "nft-table"
	ForwardPolicyDropTable    = "netcert-fault-forward"
)

// Name returns "forward-policy-drop".
func (ForwardPolicyDrop) Name() string { return "forward-policy-drop" }

// AppliesTo: every CNI's pod traffic between nodes is routed through the forward hook.
func (ForwardPolicyDrop) AppliesTo(string) bool { return true }

func (f ForwardPolicyDrop) mode() string {
	if f.Mode == "" {
		return ForwardPolicyDropLegacy
	}
	return f.Mode
}

// legacyPolicy is the command that sets the legacy filter table's FORWARD policy.
func legacyPolicy(policy string) []string {
	return []string{"iptables-legacy", "-w", "-t", "filter", "-P", "FORWARD", policy}
}

// Inject sets the policy or adds the table, refusing when the policy already drops or the table
// is there (left by an earlier run?), and returns the revert, journaled on the node first.
func (f ForwardPolicyDrop) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	journal := f.Name() + "-" + f.mode()
	switch f.mode() {
	case ForwardPolicyDropLegacy:
		old, err := legacyForwardPolicy(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		if old == "DROP" {
			return nil, fmt.Errorf("%s: the FORWARD policy of iptables-legacy's filter table on %s is DROP already (left by an earlier run? set it back with `%s`)",
				f.Name(), f.Node, strings.Join(legacyPolicy("ACCEPT"), " "))
		}
		return nodeChange(ctx, n, journal, shellLine(legacyPolicy(old)...), legacyPolicy("DROP"))
	case ForwardPolicyDropNftTable:
		t := "inet " + ForwardPolicyDropTable
		there, err := nftHasTable(ctx, n, "inet", ForwardPolicyDropTable)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		if there {
			return nil, fmt.Errorf("%s: %s already has table %s (left by an earlier run? remove it with `nft delete table %s`)", f.Name(), f.Node, t, t)
		}
		undo := "if nft list table " + t + " >/dev/null 2>&1; then nft delete table " + t + "; fi"
		return nodeChange(ctx, n, journal, undo, []string{"nft",
			"add table " + t + "; add chain " + t + " forward { type filter hook forward priority filter; policy drop; }"})
	}
	return nil, fmt.Errorf("%s: unknown mode %q (want %s or %s)", f.Name(), f.Mode, ForwardPolicyDropLegacy, ForwardPolicyDropNftTable)
}

// legacyForwardPolicy reads the FORWARD policy of iptables-legacy's filter table ("-P FORWARD ACCEPT").
func legacyForwardPolicy(ctx context.Context, n node.Node) (string, error) {
	out, err := node.Run(ctx, n, "iptables-legacy", "-w", "-t", "filter", "-S", "FORWARD")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "-P" && f[1] == "FORWARD" {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("%s: no FORWARD policy in iptables-legacy -S FORWARD: %q", n.Name(), out)
}
