package faults

import "context"

// CNIBridgeDown sets a node's pod bridge down, as a stray `ip link set cni0 down` or a network
// manager that takes over unknown bridges does: the node's pods are cut off. Revert sets it up.
type CNIBridgeDown struct {
	Node   string
	Bridge string // default cni0
}

// Name returns "cni-bridge-down".
func (CNIBridgeDown) Name() string { return "cni-bridge-down" }

// AppliesTo: Flannel plugs pods into cni0; Calico has no pod bridge.
func (CNIBridgeDown) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject sets the bridge down and returns the revert that sets it up.
func (f CNIBridgeDown) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	bridge := bridgeOr(f.Bridge)
	return nodeChange(ctx, n, f.Name(), shellLine("ip", "link", "set", "dev", bridge, "up"),
		[]string{"ip", "link", "set", "dev", bridge, "down"})
}

// bridgeOr is the pod bridge's name: the bridge plugin's default when none is given.
func bridgeOr(name string) string {
	if name == "" {
		return "cni0"
	}
	return name
}
