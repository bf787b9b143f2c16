package traffic

// The paths of the matrix, by stable ID: in findings, reports and the certification matrix.
const (
	// ContainerToContainer: two containers of one pod over localhost.
	ContainerToContainer = "container-to-container"
	// PodToPodSameNode: two pods on one node, through the node's bridge or routes.
	PodToPodSameNode = "pod-to-pod/same-node"
	// PodToPodCrossNode: a pod to a pod on another node, through the overlay or the routes.
	PodToPodCrossNode = "pod-to-pod/cross-node"
	// PodToPodFullMTU: a datagram as large as the sending pod's MTU, with DF, to the pods of
	// the two paths above: every hop, the overlay's encapsulation included, must carry it.
	PodToPodFullMTU = "pod-to-pod/full-mtu"
	// PodToClusterIP: a pod to a Service's cluster IP (kube-proxy's rules on the sending node).
	PodToClusterIP = "pod-to-service/cluster-ip"
	// PodToServiceSameNode: a pod to a Service whose only endpoint for it is another pod on its
	// own node (internalTrafficPolicy Local): the reply crosses the node's bridge, where only
	// br_netfilter's hooks undo the Service's DNAT.
	PodToServiceSameNode = "pod-to-service/same-node"
	// PodToServiceHairpin: a pod to a Service whose only endpoint for it is itself: the packet
	// leaves the pod and comes back through the same interface (the bridge port's hairpin mode).
	PodToServiceHairpin = "pod-to-service/hairpin"
	// ExternalToNodePort: from outside the cluster to a NodePort Service on every node.
	ExternalToNodePort = "external-to-nodeport"
	// DNSClusterName and DNSTestZone: a pod asks CoreDNS for a Service name, and for the test
	// zone that CoreDNS forwards upstream (the test bed's matrix only).
	DNSClusterName = "dns/cluster-name"
	DNSTestZone    = "dns/test-zone"
	// PodToNodeNetworkHost: a pod to a host of the node network outside Kubernetes (the test
	// bed's matrix only).
	PodToNodeNetworkHost = "pod-to-node-network-host"
)

// ProbeTimeout is how long each case's probe waits for its answer: the paths are local to the
// cluster (well under a millisecond when healthy), and a case that fails while nothing names its
// cause is sent again before it is called broken (doctor.Conclude).
const ProbeTimeout = "1s"

// CorePaths are the paths every sweep of the doctor sends traffic over, in causal order: what
// a later path needs, an earlier one tests first.
var CorePaths = []string{ContainerToContainer, PodToPodSameNode, PodToPodCrossNode, PodToPodFullMTU, PodToClusterIP,
	PodToServiceSameNode, PodToServiceHairpin, ExternalToNodePort}

// Pod is a running netcert probe pod.
type Pod struct {
	Namespace, Name string
	Node            string
	IP              string
	Set             string // "a" or "b": each node runs one pod of each set
}

// Case is one real-traffic check: run netcert-probe with Args inside pod From (container
// Container), or outside the cluster when External.
type Case struct {
	Path      string   // one of the path IDs above
	Name      string   // e.g. "kind-worker/a -> kind-worker2/a udp"
	From      Pod      // the sending pod; zero when External
	Container string   // the container of From that sends
	External  bool     // sent from outside the cluster (the Sender's outside host)
	To        string   // the receiving node: of the pod in pod-to-pod cases, of the NodePort in external ones
	Crosses   []string // the nodes the packets may cross
	Endpoints []string // the addresses the packets go between (the Service's, for Service paths)
	Service   string   // "namespace/name" of the Service the case goes through, if any
	Args      []string // netcert-probe arguments
}

// Result is what one case showed.
type Result struct {
	OK     bool
	Error  string // the probe's own account of a failure
	Source string // where and what ran, as a person would paste it
	Output string // what it printed
}
