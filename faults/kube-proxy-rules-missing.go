package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/netcert/netcert/node"
)

// KubeProxyRulesMissing flushes, on one node, the KUBE-SVC (or KUBE-SVL) chains that kube-proxy's
// iptables mode programs for one Service (in nftables mode, its service-… chains of table ip
// kube-proxy): its KUBE-SERVICES rules still send the Service's
// ClusterIP there, but the chains no longer jump to any endpoint, so traffic to the Service from
// that node is not DNATed and fails. kube-proxy's partial syncs rewrite only Services that
// changed, so the break lasts until its next full sync (at start, or hourly). Revert restores the
// saved rules of each chain that is still empty; a chain kube-proxy has rewritten (after a
// repair) or removed is left alone.
type KubeProxyRulesMissing struct {
	Node    string // the node to break
	Service string // the Service, "namespace/name"
}

// Name returns "kube-proxy-rules-missing".
func (KubeProxyRulesMissing) Name() string { return "kube-proxy-rules-missing" }

// AppliesTo: kube-proxy programs Services the same way under every CNI.
func (KubeProxyRulesMissing) AppliesTo(string) bool { return true }

// kpView is an iptables view of a node, with the commands that print and change it.
type kpView struct{ save, iptables, restore string }

// kpViews are the views kube-proxy's iptables mode may use, in the order they are tried.
var kpViews = []kpView{
	{"iptables-nft-save", "iptables-nft", "iptables-nft-restore"},
	{"iptables-legacy-save", "iptables-legacy", "iptables-legacy-restore -w"},
}

// Inject finds the Service's chains through its KUBE-SERVICES rules (their comments name
// "namespace/name:port"), saves their rules and flushes them.
func (f KubeProxyRulesMissing) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	view, nat, err := kubeProxyNat(ctx, n)
	if errors.Is(err, errNoIptablesServices) {
		return f.injectNft(ctx, n, err)
	}
	if err != nil {
		return nil, fmt.Errorf("kube-proxy-rules-missing: %w", err)
	}
	chains := nat.serviceChains(f.Service)
	if len(chains) == 0 {
		return nil, fmt.Errorf("kube-proxy-rules-missing: %s: no KUBE-SERVICES rule of %s sends Service %s to a KUBE-SVC or KUBE-SVL chain (does it have ready endpoints?)",
			f.Node, view.save, f.Service)
	}
	saved := map[string][]string{}
	for _, ch := range chains {
		saved[ch] = nat.rules[ch]
	}
	revert, err := journaled(ctx, n, f.Name(), restoreScript(view, chains, saved), func(ctx context.Context) error {
		return f.revert(ctx, n, view, chains, saved)
	})
	if err != nil {
		return nil, fmt.Errorf("kube-proxy-rules-missing: %w", err)
	}
	for _, ch := range chains {
		if _, err := node.Run(ctx, n, view.iptables, "-w", "-t", "nat", "-F", ch); err != nil {
			if rerr := revert(ctx); rerr != nil {
				return nil, fmt.Errorf("kube-proxy-rules-missing: flush %s: %w (and restoring what was flushed failed: %v)", ch, err, rerr)
			}
			return nil, fmt.Errorf("kube-proxy-rules-missing: flush %s: %w", ch, err)
		}
	}
	return revert, nil
}

// revert restores each chain that still exists and is empty, atomically per chain with
// iptables-restore --noflush; the rules reach it as arguments, one line each, never through the
// shell's parser.
func (f KubeProxyRulesMissing) revert(ctx context.Context, n node.Node, view kpView, chains []string, saved map[string][]string) error {
	out, err := node.Run(ctx, n, view.save)
	if err != nil {
		return fmt.Errorf("kube-proxy-rules-missing revert: %w", err)
	}
	nat := readKubeProxyNat(out)
	for _, ch := range chains {
		rules, exists := nat.rules[ch]
		if !exists || len(rules) > 0 || len(saved[ch]) == 0 {
			continue // removed, or rewritten by kube-proxy: it owns the chain again
		}
		argv := append([]string{"sh", "-c", `printf '%s\n' "$@" | ` + view.restore + " --noflush", "sh", "*nat"}, saved[ch]...)
		argv = append(argv, "COMMIT")
		if _, err := node.Run(ctx, n, argv...); err != nil {
			return fmt.Errorf("kube-proxy-rules-missing revert: restore %s: %w", ch, err)
		}
	}
	return nil
}

// restoreScript is the journal's revert: what revert does, as a shell script (each chain restored
// only while it is still empty: otherwise kube-proxy has rewritten it).
func restoreScript(view kpView, chains []string, saved map[string][]string) string {
	var lines []string
	for _, ch := range chains {
		if len(saved[ch]) == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf(`if [ "$(%s -w -t nat -S %s 2>/dev/null | wc -l)" = 1 ]; then printf '%%s\n' %s %s COMMIT | %s --noflush; fi`,
			view.iptables, shellQuote(ch), shellQuote("*nat"), shellLine(saved[ch]...), view.restore))
	}
	return strings.Join(lines, "\n")
}

// errNoIptablesServices: kube-proxy is not in iptables mode (nftables mode, or not running).
var errNoIptablesServices = errors.New("no KUBE-SERVICES chain")

// kubeProxyNat reads the nat table of the first view that holds kube-proxy's KUBE-SERVICES chain.
func kubeProxyNat(ctx context.Context, n node.Node) (kpView, *kpNat, error) {
	var tried []string
	for _, v := range kpViews {
		out, err := node.Run(ctx, n, v.save)
		if code, ran := node.ExitCode(err); ran && code == 127 {
			continue
		} else if err != nil {
			return v, nil, err
		}
		tried = append(tried, v.save)
		if nat := readKubeProxyNat(out); nat.hasServices {
			return v, nat, nil
		}
	}
	return kpView{}, nil, fmt.Errorf("%s: %w in the nat table of %s", n.Name(), errNoIptablesServices, strings.Join(tried, " or "))
}

// kpNat is the nat table of an iptables save, as this injector reads it: each chain's rules
// ("-A CHAIN …", as saved) and the KUBE-SERVICES rules.
type kpNat struct {
	rules       map[string][]string
	hasServices bool
}

// readKubeProxyNat reads the *nat section of iptables-save output (with or without -c).
func readKubeProxyNat(text string) *kpNat {
	nat := &kpNat{rules: map[string][]string{}}
	in := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "*nat":
			in = true
		case !in:
		case line == "COMMIT":
			in = false
		case strings.HasPrefix(line, ":"):
			name := strings.Fields(line[1:])[0]
			nat.rules[name] = nil
			nat.hasServices = nat.hasServices || name == "KUBE-SERVICES"
		default:
			if strings.HasPrefix(line, "[") { // a -c counter
				_, line, _ = strings.Cut(line, "] ")
			}
			if f := strings.Fields(line); len(f) > 1 && f[0] == "-A" {
				nat.rules[f[1]] = append(nat.rules[f[1]], line)
			}
		}
	}
	return nat
}

// serviceChains returns, sorted, the KUBE-SVC/KUBE-SVL chains that KUBE-SERVICES rules send the
// Service's ports to: rules whose comment is "namespace/name:port …" (or "namespace/name …" for a
// single unnamed port).
func (nat *kpNat) serviceChains(service string) []string {
	set := map[string]bool{}
	for _, r := range nat.rules["KUBE-SERVICES"] {
		comment, target := ruleComment(r), ruleTarget(r)
		svc, _, _ := strings.Cut(strings.Fields(comment + " x")[0], ":")
		if svc == service && (strings.HasPrefix(target, "KUBE-SVC-") || strings.HasPrefix(target, "KUBE-SVL-")) {
			set[target] = true
		}
	}
	var out []string
	for ch := range set {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// ruleComment returns the --comment of a saved rule ("" if none): quoted, with \" escapes, or a
// single word.
func ruleComment(rule string) string {
	_, rest, ok := strings.Cut(rule, "--comment ")
	if !ok {
		return ""
	}
	if !strings.HasPrefix(rest, `"`) {
		return strings.Fields(rest + " ")[0]
	}
	var b strings.Builder
	for i := 1; i < len(rest); i++ {
		switch {
		case rest[i] == '\\' && i+1 < len(rest):
			i++
			b.WriteByte(rest[i])
		case rest[i] == '"':
			return b.String()
		default:
			b.WriteByte(rest[i])
		}
	}
	return b.String()
}

// ruleTarget returns the -j target of a saved rule.
func ruleTarget(rule string) string {
	f := strings.Fields(rule)
	for i := len(f) - 2; i >= 0; i-- {
		if f[i] == "-j" || f[i] == "-g" {
			return f[i+1]
		}
	}
	return ""
}
