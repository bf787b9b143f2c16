package traffic

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Where netcert's probes run: their namespace, labels, containers, Services and ports.
const (
	Namespace       = "netcert-system"
	ProbeSelector   = "app.kubernetes.io/name=netcert-probe"
	ProbeSetLabel   = "netcert.io/probe-set" // "a" or "b"
	ProbeContainer  = "probe"
	PeerContainer   = "peer" // set a's second container, for container-to-container
	ProbeService    = "netcert-probe"
	NodePortService = "netcert-probe-nodeport"
	// The Services with internalTrafficPolicy Local: in front of set b's pods (a pod of set a
	// reaches its node's pod of set b) and of set a's (a pod of set a reaches itself).
	SameNodeService = "netcert-probe-same-node"
	HairpinService  = "netcert-probe-hairpin"
	HTTPPort        = "8080"
	UDPPort         = "8082"
	PeerHTTPPort    = "9080"
)

// ClusterIPServices are the probe Services the pod-to-service paths go through.
var ClusterIPServices = []string{ProbeService, SameNodeService, HairpinService}

// ProbePods lists the running probe pods that have an address, sorted by node then set.
func ProbePods(ctx context.Context, client kubernetes.Interface) ([]Pod, error) {
	list, err := client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: ProbeSelector})
	if err != nil {
		return nil, fmt.Errorf("list probe pods: %w", err)
	}
	var out []Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
			continue
		}
		out = append(out, Pod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, IP: p.Status.PodIP,
			Set: p.Labels[ProbeSetLabel]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Set < out[j].Set
	})
	return out, nil
}

// Options say which optional parts the matrix has.
type Options struct {
	// External adds external-to-nodeport: the Sender can send from outside the cluster, from
	// ExternalAddr when known.
	External     bool
	ExternalAddr string
}

// Paths returns the cases of the core paths for the probe pods now running: from set a's pod
// of every node, HTTP to its own peer container, HTTP, UDP and a full-MTU UDP datagram with DF
// to set b's pod on the same node and to set a's pod on every other node (its Peers in a large cluster), HTTP to the probe Service's cluster IP, and (with
// External) HTTP from outside to the NodePort Service on every node's InternalIP. It fails when
// no probe pod runs: a matrix of nothing would pass.
func Paths(ctx context.Context, client kubernetes.Interface, opt Options) ([]Case, error) {
	pods, err := ProbePods(ctx, client)
	if err != nil {
		return nil, err
	}
	senders := Senders(pods)
	if len(senders) == 0 {
		return nil, fmt.Errorf("no running netcert probe pod in %s: `netcert probes install` runs them", Namespace)
	}
	clusterIPs := map[string]string{}
	for _, name := range ClusterIPServices {
		svc, err := client.CoreV1().Services(Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read the probe Service %s/%s (`netcert probes install` installs it): %w", Namespace, name, err)
		}
		clusterIPs[name] = svc.Spec.ClusterIP
	}
	var nodes []string
	for _, p := range senders {
		nodes = append(nodes, p.Node)
	}
	var cases []Case
	podToPod := func(path string, from, to Pod) {
		label := fmt.Sprintf("%s/%s -> %s/%s", from.Node, from.Set, to.Node, to.Set)
		crosses := slices.Compact([]string{from.Node, to.Node})
		ends := []string{from.IP, to.IP}
		cases = append(cases,
			Case{Path: path, Name: label + " http", From: from, Container: ProbeContainer, To: to.Node, Crosses: crosses, Endpoints: ends,
				Args: []string{"http", "--timeout", ProbeTimeout, "http://" + net.JoinHostPort(to.IP, HTTPPort) + "/"}},
			Case{Path: path, Name: label + " udp", From: from, Container: ProbeContainer, To: to.Node, Crosses: crosses, Endpoints: ends,
				Args: []string{"udp", "--timeout", ProbeTimeout, net.JoinHostPort(to.IP, UDPPort)}},
			Case{Path: PodToPodFullMTU, Name: label + " udp full-mtu", From: from, Container: ProbeContainer, To: to.Node, Crosses: crosses, Endpoints: ends,
				Args: []string{"udp", "--full-mtu", "--timeout", ProbeTimeout, net.JoinHostPort(to.IP, UDPPort)}})
	}
	index := map[string]int{}
	for i, n := range nodes {
		index[n] = i
	}
	sendsTo := func(from, to string) bool {
		i, ok := index[from]
		j, ok2 := index[to]
		return ok && ok2 && slices.Contains(Peers(i, len(nodes)), j)
	}
	for _, from := range senders {
		cases = append(cases, Case{Path: ContainerToContainer, Name: fmt.Sprintf("%s/%s probe -> peer http", from.Node, from.Set),
			From: from, Container: ProbeContainer, To: from.Node, Crosses: []string{from.Node}, Endpoints: []string{from.IP},
			Args: []string{"http", "--timeout", ProbeTimeout, "http://" + net.JoinHostPort("127.0.0.1", PeerHTTPPort) + "/"}})
		for _, to := range pods {
			switch {
			case to.Node == from.Node && to.Set != from.Set:
				podToPod(PodToPodSameNode, from, to)
			case to.Node != from.Node && to.Set == from.Set && sendsTo(from.Node, to.Node):
				podToPod(PodToPodCrossNode, from, to)
			}
		}
		toService := func(path, name string, crosses []string) {
			ip := clusterIPs[name]
			cases = append(cases, Case{Path: path, Name: from.Node + " -> service " + name + " http", From: from,
				Container: ProbeContainer, Crosses: crosses, Service: Namespace + "/" + name, Endpoints: []string{from.IP, ip},
				Args: []string{"http", "--timeout", ProbeTimeout, "http://" + net.JoinHostPort(ip, "80") + "/"}})
		}
		toService(PodToClusterIP, ProbeService, nodes)
		toService(PodToServiceSameNode, SameNodeService, []string{from.Node})
		toService(PodToServiceHairpin, HairpinService, []string{from.Node})
	}
	if !opt.External {
		return cases, nil
	}
	external, err := nodePortCases(ctx, client, nodes, opt.ExternalAddr)
	if err != nil {
		return nil, err
	}
	return append(cases, external...), nil
}

// Senders returns the pods of set a: one per node, the sending side of every case.
func Senders(pods []Pod) []Pod {
	var out []Pod
	for _, p := range pods {
		if p.Set == "a" {
			out = append(out, p)
		}
	}
	return out
}

// nodePortCases returns external-to-nodeport for every node with an InternalIP.
func nodePortCases(ctx context.Context, client kubernetes.Interface, backends []string, from string) ([]Case, error) {
	svc, err := client.CoreV1().Services(Namespace).Get(ctx, NodePortService, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("no NodePort Service %s/%s: `netcert probes install` installs it", Namespace, NodePortService)
	}
	if err != nil {
		return nil, fmt.Errorf("read the NodePort Service %s/%s: %w", Namespace, NodePortService, err)
	}
	port := int32(0)
	for _, p := range svc.Spec.Ports {
		if p.Protocol == corev1.ProtocolTCP && p.NodePort != 0 {
			port = p.NodePort
			break
		}
	}
	if port == 0 {
		return nil, fmt.Errorf("the Service %s/%s has no TCP node port", Namespace, NodePortService)
	}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var out []Case
	for _, n := range list.Items {
		for _, a := range n.Status.Addresses {
			if ip := net.ParseIP(a.Address); a.Type != corev1.NodeInternalIP || ip == nil || ip.To4() == nil {
				continue
			}
			crosses := append([]string{n.Name}, slices.DeleteFunc(slices.Clone(backends), func(b string) bool { return b == n.Name })...)
			out = append(out, Case{Path: ExternalToNodePort, Name: "outside -> " + n.Name + " nodeport " + strconv.Itoa(int(port)) + " http",
				External: true, To: n.Name, Crosses: crosses, Service: Namespace + "/" + NodePortService,
				Endpoints: slices.DeleteFunc([]string{from, a.Address}, func(s string) bool { return s == "" }),
				Args:      []string{"http", "--timeout", ProbeTimeout, "http://" + net.JoinHostPort(a.Address, strconv.Itoa(int(port))) + "/"}})
			break
		}
	}
	return out, nil
}
