package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/netcert/netcert/node"
)

// MTUMismatch breaks the MTUs along the pods' path, in one of two shapes: with Pod, it gives the
// pod's eth0 and the host end of its veth a larger MTU than the overlay carries, as a CNI
// configured with the node network's MTU does; with Node and Device, it lowers that node's
// device under the overlay, as a node network changed after the CNI sized its overlay does.
// Either way full-size packets are dropped while small ones pass. Revert sets the MTUs back.
type MTUMismatch struct {
	Pod PodOnNode
	// Node's Device (the overlay's lower device) is lowered to MTU when Node is set.
	Node, Device string
	MTU          int // the MTU to give: above the overlay's for a pod, below it for a device
}

// Name returns "mtu-mismatch".
func (MTUMismatch) Name() string { return "mtu-mismatch" }

// AppliesTo: every CNI gives its pods an MTU.
func (MTUMismatch) AppliesTo(string) bool { return true }

// mtuScript prints the MTU of the host interface $2 and of eth0 in network namespace $1.
const mtuScript = `cat "/sys/class/net/$2/mtu" && ip -n "$1" -o link show dev eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'`

// Inject raises both ends of the pod's veth, or lowers the node's device.
func (f MTUMismatch) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if f.Node != "" {
		return f.lowerDevice(ctx, c)
	}
	n, iface, err := f.Pod.iface(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	out, err := node.Run(ctx, n, "sh", "-c", mtuScript, "netcert-mtu", iface.netns, iface.veth)
	fields := strings.Fields(out)
	if err != nil || len(fields) != 2 {
		return nil, fmt.Errorf("%s: read the MTUs of %s and eth0 in %s on %s (%q): %v", f.Name(), iface.veth, iface.netns, n.Name(), strings.TrimSpace(out), err)
	}
	vethMTU, podMTU := fields[0], fields[1]
	if mtu, _ := strconv.Atoi(podMTU); mtu >= f.MTU {
		return nil, fmt.Errorf("%s: the pod's eth0 in %s on %s has MTU %s already, not below %d", f.Name(), iface.netns, n.Name(), podMTU, f.MTU)
	}
	set := func(mtu string) (veth, pod []string) {
		return []string{"ip", "link", "set", "dev", iface.veth, "mtu", mtu},
			[]string{"ip", "-n", iface.netns, "link", "set", "dev", "eth0", "mtu", mtu}
	}
	vethBack, podBack := set(vethMTU)
	// A pod deleted meanwhile took both ends with it: nothing is left to revert.
	undo := fmt.Sprintf("if [ -e %s ]; then %s && %s; fi", shellQuote("/var/run/netns/"+iface.netns), shellLine(podBack...), shellLine(vethBack...))
	vethUp, podUp := set(strconv.Itoa(f.MTU))
	return nodeChange(ctx, n, f.Name(), undo, vethUp, podUp)
}

// lowerDevice lowers the node's device to f.MTU.
func (f MTUMismatch) lowerDevice(ctx context.Context, c *Cluster) (Revert, error) {
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	out, err := node.Run(ctx, n, "cat", "/sys/class/net/"+f.Device+"/mtu")
	was, perr := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || perr != nil {
		return nil, fmt.Errorf("%s: read the MTU of %s on %s (%q): %v", f.Name(), f.Device, f.Node, strings.TrimSpace(out), err)
	}
	if was <= f.MTU {
		return nil, fmt.Errorf("%s: %s on %s has MTU %d already, not above %d", f.Name(), f.Device, f.Node, was, f.MTU)
	}
	set := func(mtu int) []string {
		return []string{"ip", "link", "set", "dev", f.Device, "mtu", strconv.Itoa(mtu)}
	}
	return nodeChange(ctx, n, f.Name(), shellLine(set(was)...), set(f.MTU))
}
