package faults

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netcert/netcert/node"
)

// FlannelSubnetFile is where flanneld writes the node's subnet for Flannel's CNI plugin.
const FlannelSubnetFile = "/run/flannel/subnet.env"

// FlannelSubnetStale rewrites FLANNEL_SUBNET in a node's subnet file to Subnet (a gateway
// address with its prefix, e.g. 10.244.250.1/24), as a file left from an earlier lease is: the
// CNI plugin then sets up no new pod on the node, running ones keep working. Revert writes the
// file back as it was.
type FlannelSubnetStale struct {
	Node   string
	Subnet string
}

// Name returns "flannel-subnet-stale".
func (FlannelSubnetStale) Name() string { return "flannel-subnet-stale" }

// AppliesTo: the file is Flannel's.
func (FlannelSubnetStale) AppliesTo(cni string) bool { return cni == "flannel" }

// Inject rewrites the subnet line.
func (f FlannelSubnetStale) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if _, err := netip.ParsePrefix(f.Subnet); err != nil {
		return nil, fmt.Errorf("%s: subnet %q: %w", f.Name(), f.Subnet, err)
	}
	n, err := c.nodeNamed(f.Node)
	if err != nil {
		return nil, err
	}
	was, err := node.Run(ctx, n, "cat", FlannelSubnetFile)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s on %s (is Flannel running there?): %w", f.Name(), FlannelSubnetFile, f.Node, err)
	}
	if !strings.Contains(was, "FLANNEL_SUBNET=") {
		return nil, fmt.Errorf("%s: %s on %s holds no FLANNEL_SUBNET", f.Name(), FlannelSubnetFile, f.Node)
	}
	undo := "printf '%s\\n' " + shellQuote(strings.TrimRight(was, "\n")) + " > " + FlannelSubnetFile
	return nodeChange(ctx, n, f.Name(), undo,
		[]string{"sed", "-i", "s|^FLANNEL_SUBNET=.*|FLANNEL_SUBNET=" + f.Subnet + "|", FlannelSubnetFile})
}
