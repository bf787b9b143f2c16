package faults

import (
	"context"
	"fmt"
	"strings"

	"github.com/netcert/netcert/node"
)

// VethDetached takes one pod's veth out of the node's bridge, as a bridge that was deleted and
// re-created leaves its old ports: that pod is cut off. Revert plugs it back in, up, with the
// hairpin mode it had.
type VethDetached struct {
	Pod PodOnNode
}

// Name returns "veth-detached".
func (VethDetached) Name() string { return "veth-detached" }

// AppliesTo: Flannel plugs pods into cni0; Calico's veths are no bridge ports.
func (VethDetached) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject detaches the pod's veth.
func (f VethDetached) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, veth, err := f.Pod.veth(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	master, hairpin, err := bridgePort(ctx, n, veth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	undo := shellLine("ip", "link", "set", "dev", veth, "master", master) + " && " + shellLine("ip", "link", "set", "dev", veth, "up") +
		" && " + shellLine("ip", "link", "set", "dev", veth, "type", "bridge_slave", "hairpin", hairpin)
	return nodeChange(ctx, n, f.Name(), undo, []string{"ip", "link", "set", "dev", veth, "nomaster"})
}

// bridgePortScript prints the bridge port $1 is plugged into, and its hairpin mode (1 or 0).
const bridgePortScript = `basename "$(readlink "/sys/class/net/$1/master")" && cat "/sys/class/net/$1/brport/hairpin_mode"`

// bridgePort returns the bridge a port is plugged into and its hairpin mode ("on" or "off").
func bridgePort(ctx context.Context, n node.Node, port string) (master, hairpin string, err error) {
	out, err := node.Run(ctx, n, "sh", "-c", bridgePortScript, "netcert-port", port)
	fields := strings.Fields(out)
	if err != nil || len(fields) != 2 {
		return "", "", fmt.Errorf("%s on %s is no bridge port (%q): %v", port, n.Name(), strings.TrimSpace(out), err)
	}
	hairpin = "off"
	if fields[1] == "1" {
		hairpin = "on"
	}
	return fields[0], hairpin, nil
}
