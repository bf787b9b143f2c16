package faults

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netcert/netcert/node"
)

// CNIBridgeWrongAddress gives a node's pod bridge an address outside the node's podCIDR in
// place of its own, as a bridge left over from an earlier podCIDR (a node re-joined under
// another) holds: the pods' gateway is gone, and the bridge plugin refuses new pods. Revert puts
// the bridge's own addresses back and deletes the wrong one.
type CNIBridgeWrongAddress struct {
	Node    string
	Bridge  string // default cni0
	Address string // the wrong address with its prefix length, e.g. 10.244.250.1/24
}

// Name returns "cni-bridge-wrong-address".
func (CNIBridgeWrongAddress) Name() string { return "cni-bridge-wrong-address" }

// AppliesTo: Flannel plugs pods into cni0; Calico has no pod bridge.
func (CNIBridgeWrongAddress) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject adds the wrong address, then deletes the bridge's own IPv4 addresses.
func (f CNIBridgeWrongAddress) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	wrong, err := netip.ParsePrefix(f.Address)
	if err != nil || !wrong.Addr().Is4() {
		return nil, fmt.Errorf("%s: Address %q: want an IPv4 address with its prefix length", f.Name(), f.Address)
	}
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	bridge := bridgeOr(f.Bridge)
	out, err := node.Run(ctx, n, "ip", "-4", "-o", "addr", "show", "dev", bridge)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s's addresses on %s: %w", f.Name(), bridge, f.Node, err)
	}
	var own []string
	for _, line := range strings.Split(out, "\n") {
		if fields := strings.Fields(line); len(fields) > 3 && fields[2] == "inet" {
			own = append(own, fields[3])
		}
	}
	if len(own) == 0 {
		return nil, fmt.Errorf("%s: %s on %s holds no IPv4 address: it is broken already", f.Name(), bridge, f.Node)
	}
	undo := []string{shellLine("ip", "addr", "del", wrong.String(), "dev", bridge) + " 2>/dev/null"}
	change := [][]string{{"ip", "addr", "add", wrong.String(), "dev", bridge}}
	for _, a := range own {
		undo = append(undo, shellLine("ip", "addr", "replace", a, "dev", bridge))
		change = append(change, []string{"ip", "addr", "del", a, "dev", bridge})
	}
	return nodeChange(ctx, n, f.Name(), strings.Join(undo, "; "), change...)
}
