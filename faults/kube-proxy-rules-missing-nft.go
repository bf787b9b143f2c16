package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/netcert/netcert/node"
)

// kube-proxy's nftables mode keeps its rules in `table ip kube-proxy`; a Service port's chain is
// named service-<hash>-<namespace>/<name>/<protocol>/<port name>, and its rules pick an endpoint
// chain. Flushing it leaves the cluster IP matched in the service-ips map but never DNATed.

// kpNftTable is the table kube-proxy's nftables mode programs.
const kpNftTable = "ip kube-proxy"

// injectNft flushes the Service's chains in kube-proxy's nftables table; the revert adds each
// chain's saved rules back while it is still empty. notIptables says why the iptables mode's
// chains were not found.
func (f KubeProxyRulesMissing) injectNft(ctx context.Context, n node.Node, notIptables error) (Revert, error) {
	out, err := node.Run(ctx, n, "nft", "list", "table", "ip", "kube-proxy")
	if err != nil {
		return nil, fmt.Errorf("kube-proxy-rules-missing: %w, nor table %s in nft (%v): is kube-proxy running here?", notIptables, kpNftTable, err)
	}
	chains := nftChains(out)
	var names []string
	for name := range chains {
		if strings.HasPrefix(name, "service-") && strings.Contains(name, "-"+f.Service+"/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("kube-proxy-rules-missing: %s: no chain of Service %s in nft's %s (does it have ready endpoints?)", f.Node, f.Service, kpNftTable)
	}
	var undo []string
	for _, name := range names {
		undo = append(undo, nftRestoreLine(name, chains[name]))
	}
	flush := make([][]string, len(names))
	for i, name := range names {
		flush[i] = []string{"nft", "flush", "chain", "ip", "kube-proxy", name}
	}
	return nodeChange(ctx, n, f.Name(), strings.Join(undo, "\n"), flush...)
}

// nftRestoreLine is the shell line that adds a chain's rules back while the chain exists and is
// empty (otherwise kube-proxy has rewritten or removed it, and owns it again).
func nftRestoreLine(chain string, rules []string) string {
	var script strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&script, "add rule %s %s %s\n", kpNftTable, nftQuote(chain), r)
	}
	list := shellLine("nft", "list", "chain", "ip", "kube-proxy", chain)
	return fmt.Sprintf(`if [ "$(%s 2>/dev/null | grep -cv -e '^table' -e '^\s*chain' -e '^\s*}')" = 0 ] && %s >/dev/null 2>&1; then printf '%%s' %s | nft -f -; fi`,
		list, list, shellQuote(script.String()))
}

// nftQuote quotes a chain name for nft's parser (kube-proxy's contain slashes).
func nftQuote(name string) string { return `"` + name + `"` }

// nftChains reads the chains of one `nft list table` and their rules, one line each (a chain's
// type, hook and policy line is no rule).
func nftChains(text string) map[string][]string {
	chains := map[string][]string{}
	current := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "chain ") && strings.HasSuffix(line, "{"):
			current = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "chain "), "{"))
			chains[current] = nil
		case line == "}":
			current = ""
		case current == "", line == "", strings.HasPrefix(line, "type "), strings.HasPrefix(line, "comment "):
		default:
			chains[current] = append(chains[current], line)
		}
	}
	return chains
}
