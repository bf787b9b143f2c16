package testbed

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/netcert/netcert/node"
)

// nodeStateCommands read what a check could change on a node: the netfilter rules of every view
// (counters left out), the sysctls netcert reasons about, and the persisted sysctl files.
var nodeStateCommands = [][]string{
	{"iptables-legacy-save"},
	{"iptables-nft-save"},
	{"nft", "list", "ruleset"},
	{"sysctl", "-n", "net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.ipv4.conf.all.rp_filter"},
	{"sh", "-c", "cat /etc/sysctl.conf /etc/sysctl.d/* 2>/dev/null | sha256sum"},
}

var counters = regexp.MustCompile(`\[\d+:\d+\]|counter packets \d+ bytes \d+|# (Generated|Completed) .*`)

// workloadIface names one pod's host-side interface (Calico's cali + 11 hex digits). The CNI
// writes and removes the rules of a pod's interface as pods come and go, whoever diagnoses.
var workloadIface = regexp.MustCompile(`\bcali[0-9a-f]{11}\b`)

// calicoRuleID is the hash Calico puts in each rule's comment: it chains over the rules before it,
// so a dispatch chain's closing DROP gets a new ID whenever a pod's interface joins or leaves.
var calicoRuleID = regexp.MustCompile(`"cali:[A-Za-z0-9_-]{16}"`)

var nftChainStart = regexp.MustCompile(`^\s*chain (\S+) \{`)

// stableLines is one read's non-blank lines without counters, timestamps, Calico's rule IDs and
// the rules of single pods' interfaces (a whole nft chain block when its name holds one), sorted.
func stableLines(text string) []string {
	var lines []string
	skipping := false
	text = calicoRuleID.ReplaceAllString(counters.ReplaceAllString(text, ""), `"cali:"`)
	for _, line := range strings.Split(text, "\n") {
		if skipping {
			skipping = strings.TrimSpace(line) != "}"
			continue
		}
		if m := nftChainStart.FindStringSubmatch(line); m != nil && workloadIface.MatchString(m[1]) {
			skipping = true
			continue
		}
		if strings.TrimSpace(line) != "" && !workloadIface.MatchString(line) {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines
}

// nodeState reads each node's state as nodeStateCommands print it, as stableLines keeps it, so
// that two reads of an unchanged node are equal: kube-proxy's partial syncs rewrite KUBE-SERVICES
// in another order with the same rules, and Calico drops a deleted pod's chains when it gets to it.
func nodeState(ctx context.Context, nodes []node.Node) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range nodes {
		var b strings.Builder
		for _, argv := range nodeStateCommands {
			text, err := node.Run(ctx, n, argv...)
			if err != nil {
				return nil, fmt.Errorf("read the state of %s: %w", n.Name(), err)
			}
			lines := stableLines(text)
			fmt.Fprintf(&b, "$ %s\n%s\n", strings.Join(argv, " "), strings.Join(lines, "\n"))
		}
		out[n.Name()] = b.String()
	}
	return out, nil
}
