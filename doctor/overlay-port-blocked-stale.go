package doctor

import (
	"context"
	"fmt"
	"strconv"

	"github.com/netcert/netcert/doctor/internal/netfilter"
)

// StaleGuards plans the removal of the ACCEPT rules overlay-port-blocked's repair inserted that
// nothing needs any more: after them in their chain every rule that may see UDP to the overlay
// port accepts or returns it, and the chain's policy accepts. Guards that are still
// needed, or whose command netcert cannot rebuild exactly, are left.
func (p OverlayPortBlocked) StaleGuards(ctx context.Context, c *Cluster) (Plan, error) {
	plan := Plan{Check: p.ID()}
	port, _, err := overlayPort(ctx, c)
	if err != nil || port == 0 {
		return plan, err
	}
	for _, n := range c.Nodes {
		v, err := readNodeViews(ctx, n)
		if err != nil {
			return plan, fmt.Errorf("%s: %w", p.ID(), err)
		}
		for _, rs := range v.sets {
			for _, ch := range rs.Chains {
				for i, r := range ch.Rules {
					if !isOverlayGuard(r, port) || guardNeeded(ch, i, port) {
						continue
					}
					if argv := guardDeletion(r, port); argv != nil {
						plan.Actions = append(plan.Actions, Action{Node: n.Name(), Object: ruleRef(r),
							Summary: fmt.Sprintf("remove the repair's ACCEPT %s: nothing after it drops udp/%d any more", r.Text, port), Argv: [][]string{argv}})
					}
				}
			}
		}
	}
	return plan, nil
}

// guardNeeded reports whether anything after rule i of ch may still drop the overlay's packets.
func guardNeeded(ch *netfilter.Chain, i, port int) bool {
	if ch.Policy == "DROP" {
		return true
	}
	for _, r := range ch.Rules[i+1:] {
		// Only an ACCEPT or a RETURN is sure not to drop what it matches: anything else (a drop,
		// a jump, a target netcert does not know) that may see the packets keeps the guard.
		if r.AdmitsUDPPort(port) && r.Verdict != "ACCEPT" && r.Verdict != "RETURN" {
			return true
		}
	}
	return false
}

// guardDeletion is the command that deletes guard r: by handle in nft, by its exact spec (as
// guardsFor inserted it) in iptables; nil when r is not in that form.
func guardDeletion(r *netfilter.Rule, port int) []string {
	if r.Backend == netfilter.Native {
		if r.Handle == 0 {
			return nil
		}
		return []string{"nft", "delete", "rule", r.Family, r.Table, r.Chain, "handle", strconv.Itoa(r.Handle)}
	}
	flag, m := "-s", r.Src
	if len(m.Prefixes) == 0 {
		flag, m = "-d", r.Dst
	}
	if len(m.Prefixes) != 1 || m.Prefixes[0].Bits() != 32 {
		return nil
	}
	return []string{string(r.Backend), "-w", "-t", r.Table, "-D", r.Chain, flag, m.Prefixes[0].String(), "-p", "udp", "-m", "udp",
		"--dport", strconv.Itoa(port), "-m", "comment", "--comment", overlayRepairComment, "-j", "ACCEPT"}
}
