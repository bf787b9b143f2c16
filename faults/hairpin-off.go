package faults

import (
	"context"
	"fmt"
)

// HairpinOff sets hairpin mode off on one pod's bridge port, as a bridge plugin configured
// without hairpinMode leaves it: that pod cannot reach itself through its Service. Revert sets it
// back as it was.
type HairpinOff struct {
	Pod PodOnNode
}

// Name returns "hairpin-off".
func (HairpinOff) Name() string { return "hairpin-off" }

// AppliesTo: Flannel plugs pods into cni0; Calico's veths are no bridge ports.
func (HairpinOff) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject sets the pod's port's hairpin mode off.
func (f HairpinOff) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	n, veth, err := f.Pod.veth(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	_, hairpin, err := bridgePort(ctx, n, veth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if hairpin == "off" {
		return nil, fmt.Errorf("%s: %s on %s has hairpin mode off already", f.Name(), veth, f.Pod.Node)
	}
	set := func(mode string) []string {
		return []string{"ip", "link", "set", "dev", veth, "type", "bridge_slave", "hairpin", mode}
	}
	return nodeChange(ctx, n, f.Name(), shellLine(set("on")...), set("off"))
}
