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

// nodeState reads each node's state as nodeStateCommands print it, counters and timestamps left
// out and lines sorted, so that two reads of an unchanged node are equal: kube-proxy's partial
// syncs rewrite KUBE-SERVICES in another order with the same rules.
func nodeState(ctx context.Context, nodes []node.Node) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range nodes {
		var b strings.Builder
		for _, argv := range nodeStateCommands {
			text, err := node.Run(ctx, n, argv...)
			if err != nil {
				return nil, fmt.Errorf("read the state of %s: %w", n.Name(), err)
			}
			lines := strings.Split(counters.ReplaceAllString(text, ""), "\n")
			slices.Sort(lines)
			fmt.Fprintf(&b, "$ %s\n%s\n", strings.Join(argv, " "), strings.Join(lines, "\n"))
		}
		out[n.Name()] = b.String()
	}
	return out, nil
}
