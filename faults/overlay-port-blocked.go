package faults

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/node"
)

// OverlayPortBlocked adds, on Node, a netfilter rule that drops the CNI's overlay traffic (UDP to
// Port), as a host firewall would; pods on other nodes can no longer reach the pods of Node. Mode
// picks the rule:
//   - OverlayPortBlockedInputDrop (the default): `iptables -I INPUT -p udp --dport PORT -m comment
//     --comment netcert-fault -j DROP` (in a kind node `iptables` is iptables-nft);
//   - OverlayPortBlockedRawDrop: the same rule in the raw table's PREROUTING;
//   - OverlayPortBlockedNftDrop: a native nft table inet netcert_fault whose input-hook chain
//     drops (and counts) udp dport PORT;
//   - OverlayPortBlockedPeerDrop: no port named: `-s PEER/32 -p udp -j DROP` for every other
//     node's InternalIP, first in filter INPUT (raw PREROUTING on Calico, whose Felix accepts
//     VXLAN from known nodes before anything in INPUT);
//   - OverlayPortBlockedSetChain: a user chain NETCERT-FAULT in raw PREROUTING whose one rule
//     drops UDP from the addresses of an ipset netcert-fault holding the other nodes.
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
	OverlayPortBlockedPeerDrop  = "peer-udp-drop"
	OverlayPortBlockedSetChain  = "ipset-chain-drop"
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
	var journal string // the script that reverts it, for the node's journal
	switch f.mode() {
	case OverlayPortBlockedInputDrop, OverlayPortBlockedRawDrop:
		present = func(ctx context.Context) (bool, error) { return f.iptablesHas(ctx, n) }
		add, del = f.iptables("-I"), f.iptables("-D")
		journal = "while " + shellLine(f.iptables("-C")...) + " 2>/dev/null; do " + shellLine(del...) + "; done"
	case OverlayPortBlockedNftDrop:
		present = func(ctx context.Context) (bool, error) { return nftHasTable(ctx, n, "inet", OverlayPortBlockedTable) }
		add, del = f.nftAdd(), []string{"nft", "delete", "table", "inet", OverlayPortBlockedTable}
		journal = "if nft list table inet " + OverlayPortBlockedTable + " >/dev/null 2>&1; then " + shellLine(del...) + "; fi"
	case OverlayPortBlockedPeerDrop, OverlayPortBlockedSetChain:
		peers, err := otherNodeIPs(ctx, c, f.Node)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		var check string
		check, add, del = f.shapeScripts(c.CNI, peers)
		journal = shellLine(del...)
		present = func(ctx context.Context) (bool, error) {
			_, err := node.Run(ctx, n, "sh", "-c", check)
			if code, ran := node.ExitCode(err); ran && code == 1 {
				return false, nil
			}
			return err == nil, err
		}
	default:
		return nil, fmt.Errorf("%s: unknown mode %q (want %s, %s, %s, %s or %s)", f.Name(), f.Mode, OverlayPortBlockedInputDrop,
			OverlayPortBlockedRawDrop, OverlayPortBlockedNftDrop, OverlayPortBlockedPeerDrop, OverlayPortBlockedSetChain)
	}
	there, err := present(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if there {
		return nil, fmt.Errorf("%s: %s already has the fault's rule (left by an earlier run? remove it with `%s`)", f.Name(), f.Node, strings.Join(del, " "))
	}
	revert, err := journaled(ctx, n, f.Name()+"-"+string(f.mode()), journal, func(ctx context.Context) error {
		there, err := present(ctx)
		if err == nil && there {
			_, err = node.Run(ctx, n, del...)
		}
		if err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
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

// shapeScripts returns the shell scripts that check for (exit 0 present, 1 absent), add and
// delete the rules of the modes that name no port, for the peers' addresses.
func (f OverlayPortBlocked) shapeScripts(cni string, peers []string) (check string, add, del []string) {
	tag := "-m comment --comment " + OverlayPortBlockedComment
	if f.mode() == OverlayPortBlockedSetChain {
		const set, chain = "netcert-fault", "NETCERT-FAULT"
		check = "iptables -w -t raw -S " + chain + " >/dev/null 2>&1 || ipset list -n " + set + " >/dev/null 2>&1 || exit 1"
		add = []string{"sh", "-ec", "ipset create " + set + " hash:ip; " +
			"for ip in " + strings.Join(peers, " ") + "; do ipset add " + set + " $ip; done; " +
			"iptables -w -t raw -N " + chain + "; " +
			"iptables -w -t raw -A " + chain + " -m set --match-set " + set + " src -p udp " + tag + " -j DROP; " +
			"iptables -w -t raw -I PREROUTING -j " + chain}
		del = []string{"sh", "-c", "iptables -w -t raw -D PREROUTING -j " + chain + "; iptables -w -t raw -F " + chain + "; " +
			"iptables -w -t raw -X " + chain + "; ipset destroy " + set + "; exit 0"}
		return check, add, del
	}
	table, chain := "filter", "INPUT"
	if cni == "calico" {
		table, chain = "raw", "PREROUTING"
	}
	rule := func(op, ip string) string {
		return "iptables -w -t " + table + " " + op + " " + chain + " -s " + ip + "/32 -p udp " + tag + " -j DROP"
	}
	var adds, dels []string
	for _, ip := range peers {
		adds = append(adds, rule("-I", ip))
		dels = append(dels, "while "+rule("-C", ip)+" 2>/dev/null; do "+rule("-D", ip)+"; done")
	}
	check = rule("-C", peers[0]) + " 2>/dev/null || exit 1"
	return check, []string{"sh", "-ec", strings.Join(adds, "; ")}, []string{"sh", "-ec", strings.Join(dels, "; ")}
}

// otherNodeIPs returns the IPv4 InternalIPs of every node but self, from the API.
func otherNodeIPs(ctx context.Context, c *Cluster, self string) ([]string, error) {
	if c.Client == nil {
		return nil, errors.New("no Kubernetes client to read the nodes' addresses")
	}
	list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var out []string
	for _, n := range list.Items {
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && n.Name != self && a.Type == corev1.NodeInternalIP && ip.Is4() {
				out = append(out, ip.String())
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no other node with an IPv4 InternalIP than %s", self)
	}
	return out, nil
}
