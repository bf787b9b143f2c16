package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netcert/netcert/doctor/internal/kubeproxynft"
	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/node"
)

// kpProgram is what one data plane of a node does with traffic to a Service port: whether its
// dispatch (a KUBE-SERVICES rule, a service-ips element) catches it, the chain it goes to, the
// endpoints that chain DNATs to, and the rule lines that show it.
type kpProgram struct {
	Found     bool
	Chain     string
	Endpoints []string
	Lines     []string
}

// kpDataPlane is kube-proxy's data plane as one view of a node shows it.
type kpDataPlane struct {
	Mode     string // "iptables" or "nftables"
	View     string // "iptables-nft", "iptables-legacy" or "nft"
	Source   string // the command line that read it
	Dispatch string // what catches a ClusterIP port: "KUBE-SERVICES rule", "service-ips element"
	lookup   func(sp kpServicePort) kpProgram
}

// kpRead is one read of a node's kube-proxy data planes.
type kpRead struct {
	planes []kpDataPlane
	// absent says, per command, what it showed of no data plane (for a NotApplicable finding).
	absent []Evidence
	ipvs   bool // a KUBE-SERVICES chain of kube-proxy's ipvs mode (matches the KUBE-CLUSTER-IP ipset)
}

// kpIptablesViews are the iptables views kube-proxy's iptables mode may use: kind nodes use
// iptables-nft; older hosts iptables-legacy. The whole save is read (-t nat fails where a
// view has no nat table) and only its nat table is looked at.
var kpIptablesViews = []struct {
	backend netfilter.Backend
	argv    []string
}{
	{netfilter.XtNft, []string{"iptables-nft-save"}},
	{netfilter.Legacy, []string{"iptables-legacy-save"}},
}

// readKubeProxyPlanes reads every data plane of kube-proxy on n: a nat KUBE-SERVICES chain in
// either iptables view, and nft's table ip kube-proxy. A command that is not installed (exit 127)
// is skipped; a node where none of them is can not be evaluated.
func readKubeProxyPlanes(ctx context.Context, n node.Node) (*kpRead, error) {
	rd := &kpRead{}
	var missing []string
	for _, v := range kpIptablesViews {
		out, ev, err := run(ctx, n, v.argv...)
		if code, ran := node.ExitCode(err); ran && code == 127 {
			missing = append(missing, v.argv[0])
			continue
		} else if err != nil {
			return nil, err
		}
		rs, err := netfilter.ParseIptablesSave(v.backend, out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ev.Source, err)
		}
		svcs := rs.Chain("ip", "nat", "KUBE-SERVICES")
		switch {
		case svcs == nil:
			rd.absent = append(rd.absent, Evidence{Source: ev.Source, Output: "no KUBE-SERVICES chain in the nat table"})
		case kpIPVS(svcs):
			rd.ipvs = true
			rd.absent = append(rd.absent, Evidence{Source: ev.Source, Output: "KUBE-SERVICES matches the KUBE-CLUSTER-IP ipset: kube-proxy's ipvs mode"})
		default:
			rd.planes = append(rd.planes, kpDataPlane{Mode: "iptables", View: string(v.backend), Source: ev.Source,
				Dispatch: "KUBE-SERVICES rule", lookup: newXtKubeProxy(rs).lookup})
		}
	}
	tables, ev, err := run(ctx, n, "nft", "list", "tables")
	if code, ran := node.ExitCode(err); ran && code == 127 {
		missing = append(missing, "nft")
	} else if err != nil {
		return nil, err
	} else if !hasLine(tables, "table ip kube-proxy") {
		rd.absent = append(rd.absent, Evidence{Source: ev.Source, Output: "no table ip kube-proxy"})
	} else {
		out, ev, err := run(ctx, n, "nft", "list", "table", "ip", "kube-proxy")
		if err != nil {
			return nil, err
		}
		t, err := kubeproxynft.Parse(out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ev.Source, err)
		}
		rd.planes = append(rd.planes, kpDataPlane{Mode: "nftables", View: "nft", Source: ev.Source,
			Dispatch: "service-ips element", lookup: func(sp kpServicePort) kpProgram { return kpNftLookup(t, sp) }})
	}
	if len(missing) == len(kpIptablesViews)+1 {
		return nil, fmt.Errorf("%s: kube-proxy's rules cannot be read: %s are not installed", n.Name(), strings.Join(missing, ", "))
	}
	for _, m := range missing {
		rd.absent = append(rd.absent, Evidence{Source: node.CommandLine(n, []string{m}), Output: m + " is not installed: view not read"})
	}
	return rd, nil
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// kpIPVS reports whether a KUBE-SERVICES chain is ipvs mode's: it matches the KUBE-CLUSTER-IP
// ipset instead of one rule per Service port.
func kpIPVS(c *netfilter.Chain) bool {
	for _, r := range c.Rules {
		if r.Dst.Set == "KUBE-CLUSTER-IP" || r.Src.Set == "KUBE-CLUSTER-IP" {
			return true
		}
	}
	return false
}

// xtKubeProxy is the nat table of an iptables view, indexed for lookups: its chains by name and
// the KUBE-SERVICES rules by the one address (/32) they match.
type xtKubeProxy struct {
	chains   map[string]*netfilter.Chain
	services map[netip.Addr][]*netfilter.Rule
}

func newXtKubeProxy(rs *netfilter.Ruleset) *xtKubeProxy {
	x := &xtKubeProxy{chains: map[string]*netfilter.Chain{}, services: map[netip.Addr][]*netfilter.Rule{}}
	for _, c := range rs.Chains {
		if c.Family == "ip" && c.Table == "nat" {
			x.chains[c.Name] = c
		}
	}
	for _, r := range x.chains["KUBE-SERVICES"].Rules {
		if d := r.Dst; !d.Negate && len(d.Prefixes) == 1 && d.Prefixes[0].IsSingleIP() {
			x.services[d.Prefixes[0].Addr()] = append(x.services[d.Prefixes[0].Addr()], r)
		}
	}
	return x
}

// lookup finds the KUBE-SERVICES rule for the port (`-d IP/32 -p PROTO -m PROTO --dport PORT -j
// KUBE-SVC-…`, or KUBE-SVL-… under internalTrafficPolicy Local) and follows its chain through
// the KUBE-SEP chains to their DNAT targets.
func (x *xtKubeProxy) lookup(sp kpServicePort) kpProgram {
	var prog kpProgram
	var others []string
	for _, r := range x.services[sp.IP] {
		target := r.Target
		if target == "" && strings.HasPrefix(r.Verdict, "KUBE-SV") {
			target = r.Verdict // a chain the save does not declare
		}
		if target == "" || target == "KUBE-MARK-MASQ" || !xtMatchesPort(r, sp) {
			others = append(others, r.Text)
			continue
		}
		prog.Found, prog.Chain = true, target
		prog.Lines = append(prog.Lines, r.Text)
		break
	}
	if !prog.Found {
		prog.Lines = others // the rules for the ClusterIP's other ports, if any
		return prog
	}
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		c := x.chains[name]
		switch {
		case c == nil:
			prog.Lines = append(prog.Lines, "(no chain "+name+")")
			return
		case len(c.Rules) == 0:
			prog.Lines = append(prog.Lines, ":"+name+" - [0:0] (empty)")
		}
		for _, r := range c.Rules {
			prog.Lines = append(prog.Lines, r.Text)
			if r.Verdict == "DNAT" {
				if to := netfilter.IptablesDNATTarget(r.Text); to != "" {
					prog.Endpoints = append(prog.Endpoints, to)
				}
			}
			if r.Target != "" && r.Target != "KUBE-MARK-MASQ" {
				walk(r.Target)
			}
		}
	}
	walk(prog.Chain)
	return prog
}

// xtMatchesPort reports whether the rule matches exactly the port's protocol and port.
func xtMatchesPort(r *netfilter.Rule, sp kpServicePort) bool {
	if len(r.Protos) != 1 || r.ProtoNeg || r.Protos[0] != sp.Proto || len(r.DPorts) != 1 {
		return false
	}
	m := r.DPorts[0]
	return !m.Negate && len(m.Ranges) == 1 && m.Ranges[0].Lo == sp.Port && m.Ranges[0].Hi == sp.Port
}
