package faults

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netcert/netcert/node"
)

// RPFilterStrict makes a node validate the source of every packet strictly, as a hardening guide
// asks: net.ipv4.conf.all.rp_filter=1 and rp_filter=1 on each of its interfaces (those of
// Interfaces, when set). The kernel then drops, silently, a packet whose source it would not route
// back out of the interface the packet came in on: on a node whose routes are asymmetric (a
// second uplink, a route more specific than the CNI's) that is traffic the CNI needs. Revert
// gives every value it changed back exactly (an interface gone by then is skipped); the default
// for new interfaces is left alone.
type RPFilterStrict struct {
	Node       string   // the node to break
	Interfaces []string // the interfaces to make strict besides all; nil: every interface
}

// Name returns "rp-filter-strict".
func (RPFilterStrict) Name() string { return "rp-filter-strict" }

// AppliesTo: on the nodes of neither CNI does strict validation alone break a path: Flannel and
// Calico route each pod range back out of the interface it arrives on (Calico sets rp_filter=1
// on its pods' veths itself), and a kind node has one uplink. It breaks a node whose routes are
// asymmetric, which the doctor's kernel test builds in network namespaces.
func (RPFilterStrict) AppliesTo(string) bool { return false }

// rpConf is where the per-interface values live; rpRead prints each as "PATH:VALUE".
const (
	rpConf = "/proc/sys/net/ipv4/conf/"
	rpRead = `grep -sH . ` + rpConf + `*/rp_filter; exit 0`
)

// rpKey is the sysctl key of an interface's value, in the form that keeps the dots of its name.
func rpKey(iface string) string { return "net/ipv4/conf/" + iface + "/rp_filter" }

// Inject reads the values, journals the script that restores them, and sets 1 on all and the
// interfaces.
func (f RPFilterStrict) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	out, err := node.Run(ctx, n, "sh", "-c", rpRead)
	if err != nil {
		return nil, fmt.Errorf("%s: read the rp_filter values of %s: %w", f.Name(), f.Node, err)
	}
	was := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		file, value, _ := strings.Cut(line, ":")
		if iface, ok := strings.CutSuffix(strings.TrimPrefix(file, rpConf), "/rp_filter"); ok && strings.HasPrefix(file, rpConf) {
			was[iface] = strings.TrimSpace(value)
		}
	}
	ifaces := f.Interfaces
	if ifaces == nil {
		for iface := range was {
			if iface != "all" && iface != "default" {
				ifaces = append(ifaces, iface)
			}
		}
		slices.Sort(ifaces)
	}
	set := []string{"sysctl", "-qw"}
	var undo []string
	for _, iface := range append([]string{"all"}, ifaces...) {
		old, ok := was[iface]
		if !ok {
			return nil, fmt.Errorf("%s: %s has no interface %q (%s)", f.Name(), f.Node, iface, strings.TrimSpace(out))
		}
		set = append(set, rpKey(iface)+"=1")
		undo = append(undo, fmt.Sprintf("if [ -e %s ]; then %s; fi", shellQuote(rpConf+iface), shellLine("sysctl", "-qw", rpKey(iface)+"="+old)))
	}
	return nodeChange(ctx, n, f.Name(), strings.Join(undo, "\n"), set)
}
