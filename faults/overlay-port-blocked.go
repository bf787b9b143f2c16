package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/netcert/netcert/node"
)

// OverlayPortBlocked adds, on Node, a netfilter rule that drops the CNI's overlay traffic (UDP to
// Port), as a host firewall would; pods on other nodes can no longer reach the pods of Node. Mode
// picks the rule:
//   - OverlayPortBlockedInputDrop (the default): `iptables -I INPUT -p udp --dport PORT -m comment
//     --comment netcert-fault -j DROP` (in a kind node `iptables` is iptables-nft);
//   - OverlayPortBlockedRawDrop: the same rule in the raw table's PREROUTING;
//   - OverlayPortBlockedNftDrop: a native nft table inet netcert_fault whose input-hook chain
//     drops (and counts) udp dport PORT.
//
// Revert deletes exactly that rule, by its spec, or that table, and only while it is there.
type OverlayPortBlocked struct {
	Node string // the node whose firewall drops the overlay
	Port int    // the overlay's UDP port; 0 means 8472, Flannel's VXLAN port (Calico's is 4789)
	Mode string // one of the OverlayPortBlocked* modes; "" means OverlayPortBlockedInputDrop
}

// The modes of OverlayPortBlocked, the nft table it creates and the comment on its iptables rules.
const (
	OverlayPortBlockedInputDrop = "iptables-input-drop"
	OverlayPortBlockedRawDrop   = "raw-prerouting-drop"
	OverlayPortBlockedNftDrop   = "nft-input-drop"
	OverlayPortBlockedTable     = "netcert_fault"
	OverlayPortBlockedComment   = "netcert-fault"
)

// Name returns "overlay-port-blocked".
func (OverlayPortBlocked) Name() string { return "overlay-port-blocked" }

func (f OverlayPortBlocked) port() int {
	if f.Port == 0 {
		return 8472
	}
	return f.Port
}

func (f OverlayPortBlocked) mode() string {
	if f.Mode == "" {
		return OverlayPortBlockedInputDrop
	}
	return f.Mode
}

// AppliesTo reports whether Port is the CNI's overlay port: 8472 for Flannel, 4789 for Calico.
// On Calico the INPUT mode never shows the symptom: Felix accepts VXLAN from known nodes in
// cali-INPUT, whose jump it keeps first in INPUT.
func (f OverlayPortBlocked) AppliesTo(cni string) bool {
	switch cni {
	case "flannel":
		return f.port() == 8472
	case "calico":
		return f.port() == 4789 && f.mode() != OverlayPortBlockedInputDrop
	}
	return false
}

// Inject adds the rule or table, refusing when it is already there (left by an earlier run), and
// returns the revert that deletes it. If adding fails it reverts at once.
func (f OverlayPortBlocked) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if f.port() < 1 || f.port() > 65535 {
		return nil, fmt.Errorf("%s: bad port %d", f.Name(), f.Port)
	}
	var present func(context.Context) (bool, error)
	var add, del []string
	switch f.mode() {
	case OverlayPortBlockedInputDrop, OverlayPortBlockedRawDrop:
		present = func(ctx context.Context) (bool, error) { return f.iptablesHas(ctx, n) }
		add, del = f.iptables("-I"), f.iptables("-D")
	case OverlayPortBlockedNftDrop:
		present = func(ctx context.Context) (bool, error) { return nftHasTable(ctx, n, "inet", OverlayPortBlockedTable) }
		add, del = f.nftAdd(), []string{"nft", "delete", "table", "inet", OverlayPortBlockedTable}
	default:
		return nil, fmt.Errorf("%s: unknown mode %q (want %s, %s or %s)", f.Name(), f.Mode,
			OverlayPortBlockedInputDrop, OverlayPortBlockedRawDrop, OverlayPortBlockedNftDrop)
	}
	there, err := present(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if there {
		return nil, fmt.Errorf("%s: %s already has the fault's rule (left by an earlier run? remove it with `%s`)", f.Name(), f.Node, strings.Join(del, " "))
	}
	revert := func(ctx context.Context) error {
		there, err := present(ctx)
		if err == nil && there {
			_, err = node.Run(ctx, n, del...)
		}
		if err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	}
	if _, err := node.Run(ctx, n, add...); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", f.Name(), err), revert(ctx))
	}
	return revert, nil
}

// iptables returns the fault's iptables command with op (-I, -C or -D).
func (f OverlayPortBlocked) iptables(op string) []string {
	argv := []string{"iptables", "-w"}
	chain := "INPUT"
	if f.mode() == OverlayPortBlockedRawDrop {
		argv, chain = append(argv, "-t", "raw"), "PREROUTING"
	}
	return append(argv, op, chain, "-p", "udp", "--dport", strconv.Itoa(f.port()),
		"-m", "comment", "--comment", OverlayPortBlockedComment, "-j", "DROP")
}

// iptablesHas reports whether the fault's rule is in its chain (iptables -C exits 1 when not).
func (f OverlayPortBlocked) iptablesHas(ctx context.Context, n node.Node) (bool, error) {
	_, err := node.Run(ctx, n, f.iptables("-C")...)
	if code, ran := node.ExitCode(err); ran && code == 1 {
		return false, nil
	}
	return err == nil, err
}

// nftAdd returns the command that creates the fault's table, chain and rule in one transaction.
func (f OverlayPortBlocked) nftAdd() []string {
	t := "inet " + OverlayPortBlockedTable
	return []string{"nft", "add table " + t + "; " +
		"add chain " + t + " input { type filter hook input priority 0; policy accept; }; " +
		"add rule " + t + " input udp dport " + strconv.Itoa(f.port()) + ` counter drop comment "` + OverlayPortBlockedComment + `"`}
}

// nftHasTable reports whether `nft list tables` lists the table.
func nftHasTable(ctx context.Context, n node.Node, family, name string) (bool, error) {
	out, err := node.Run(ctx, n, "nft", "list", "tables")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "table "+family+" "+name {
			return true, nil
		}
	}
	return false, nil
}
