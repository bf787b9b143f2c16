package doctor

import "context"

// IPForwardOff is the check and repair for ip-forward-off: a node whose kernel does not forward
// IPv4 (net.ipv4.ip_forward=0) drops every packet its pods send off the node or receive from it.
// A persisted 0 (in /etc/sysctl.conf or a sysctl.d drop-in) is flagged too: it returns at reboot.
type IPForwardOff struct{}

const ipForwardDropIn = "/etc/sysctl.d/99-zz-netcert-ip-forward.conf" // sorts after 99-sysctl.conf

var ipForward = nodeSysctl{
	id:     "ip-forward-off",
	key:    "net.ipv4.ip_forward",
	want:   "1",
	breaks: "the node does not forward its pods' traffic",
	dropIn: ipForwardDropIn,
}

// ID returns "ip-forward-off".
func (IPForwardOff) ID() string { return ipForward.id }

// Run reads the live and the persisted value on every node.
func (IPForwardOff) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return ipForward.run(ctx, c)
}

// Plan sets the value now and persists it (see nodeSysctl.plan).
func (IPForwardOff) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	return ipForward.plan(ctx, c, findings)
}

// Apply runs each action's commands, then re-reads the node to verify.
func (IPForwardOff) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return ipForward.apply(ctx, c, plan)
}
