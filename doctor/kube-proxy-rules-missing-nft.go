package doctor

import (
	"fmt"
	"strings"

	"github.com/netcert/netcert/doctor/internal/kubeproxynft"
)

// kpNftLookup finds the port's service-ips element and follows its chain (service-… or local-…)
// through the endpoint chains to their DNATs: `dnat to IP:PORT`, or kube-proxy 1.36's
// `dnat ip addr . port to numgen random mod N map { 0 : IP . PORT, … }`.
func kpNftLookup(t *kubeproxynft.Table, sp kpServicePort) kpProgram {
	var prog kpProgram
	el, ok := t.ServiceIPs[fmt.Sprintf("%s . %s . %d", sp.IP, sp.Proto, sp.Port)]
	if !ok {
		prefix := sp.IP.String() + " . "
		for k, e := range t.ServiceIPs {
			if strings.HasPrefix(k, prefix) {
				prog.Lines = append(prog.Lines, "service-ips: "+e.Text) // the ClusterIP's other ports
			}
		}
		return prog
	}
	prog.Found, prog.Chain = true, el.Target
	prog.Lines = append(prog.Lines, "service-ips: "+el.Text)
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		rules, ok := t.Chains[name]
		switch {
		case !ok:
			prog.Lines = append(prog.Lines, "(no chain "+name+")")
			return
		case len(rules) == 0:
			prog.Lines = append(prog.Lines, "chain "+name+" { } (empty)")
		}
		for _, r := range rules {
			prog.Lines = append(prog.Lines, name+": "+r)
			w := kubeproxynft.Words(r)
			for i := 0; i < len(w); i++ {
				switch {
				case (w[i] == "goto" || w[i] == "jump") && i+1 < len(w) && w[i+1] != "mark-for-masquerade":
					walk(w[i+1])
				case w[i] == "dnat" && i+2 < len(w) && w[i+1] == "to":
					prog.Endpoints = append(prog.Endpoints, w[i+2])
				case w[i] == "dnat":
					prog.Endpoints = append(prog.Endpoints, kubeproxynft.DNATMap(w[i+1:])...)
				}
			}
		}
	}
	walk(el.Target)
	return prog
}
