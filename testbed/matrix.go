package testbed

import (
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// Path kinds of the traffic matrix.
const (
	SameNode  = "pod-to-pod-same-node"
	CrossNode = "pod-to-pod-cross-node"
	ClusterIP = "pod-to-clusterip"
	DNS       = "dns"
	// NodeNetwork: a host of the node network outside Kubernetes (see NetworkHost).
	NodeNetwork = "pod-to-node-network-host"
)

// CrossNodeFrom selects the pod-to-pod cases across nodes that node's pods send.
func CrossNodeFrom(node string) func(TrafficCase) bool {
	return func(tc TrafficCase) bool { return tc.Path == CrossNode && tc.From.Node == node }
}

// CrossNodeVia selects the pod-to-pod cases across nodes that node's pods send or receive.
func CrossNodeVia(node string) func(TrafficCase) bool {
	return func(tc TrafficCase) bool { return tc.Path == CrossNode && (tc.From.Node == node || tc.To == node) }
}

// TestZoneDNS selects the DNS cases of the test zone's record, a name outside the cluster domain.
func TestZoneDNS(tc TrafficCase) bool {
	return tc.Path == DNS && tc.Args[len(tc.Args)-1] == TestRecordName
}

// TrafficCase is one real-traffic check: run the probe with Args inside pod From.
type TrafficCase struct {
	Path string   // one of the path kinds above
	Name string   // e.g. "kind-worker/a -> kind-worker2/a http"
	From ProbePod // the pod that sends
	To   string   // the node of the receiving pod in pod-to-pod cases; "" for Services and DNS
	Args []string // netcert-probe arguments
}

// TrafficMatrix returns the full matrix for the probe pods now running: HTTP and UDP between the two
// pods of every node and between every ordered pair of nodes, HTTP to the probe Service's cluster
// IP from every node, and DNS from every node for a cluster Service name and a test-zone name.
func TrafficMatrix(ctx context.Context, r *resources.Resources) ([]TrafficCase, error) {
	pods, err := ProbePods(ctx, r)
	if err != nil {
		return nil, err
	}
	var svc corev1.Service
	if err := r.Get(ctx, ProbeService, Namespace, &svc); err != nil {
		return nil, fmt.Errorf("read the probe Service: %w", err)
	}
	host, _, err := NetworkHost(ctx, r)
	if err != nil {
		return nil, err
	}
	var cases []TrafficCase
	podToPod := func(path string, from, to ProbePod) {
		label := fmt.Sprintf("%s/%s -> %s/%s", from.Node, from.Set, to.Node, to.Set)
		cases = append(cases,
			TrafficCase{path, label + " http", from, to.Node, []string{"http", "http://" + net.JoinHostPort(to.IP, "8080") + "/"}},
			TrafficCase{path, label + " udp", from, to.Node, []string{"udp", net.JoinHostPort(to.IP, "8082")}})
	}
	var senders []ProbePod // set a, one per node
	for _, p := range pods {
		if p.Set == "a" {
			senders = append(senders, p)
		}
	}
	if len(senders) == 0 {
		return nil, fmt.Errorf("no Ready probe pods in %s", Namespace)
	}
	for _, from := range senders {
		for _, to := range pods {
			switch {
			case to.Node == from.Node && to.Set != from.Set:
				podToPod(SameNode, from, to)
			case to.Node != from.Node && to.Set == from.Set:
				podToPod(CrossNode, from, to)
			}
		}
		cases = append(cases,
			TrafficCase{ClusterIP, from.Node + " -> service " + ProbeService + " http", from, "",
				[]string{"http", "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"}},
			TrafficCase{DNS, from.Node + " -> " + ProbeService + " service name", from, "",
				[]string{"dns", ProbeService + "." + Namespace + ".svc.cluster.local"}},
			TrafficCase{DNS, from.Node + " -> test zone " + TestRecordName, from, "",
				[]string{"dns", TestRecordName}},
			TrafficCase{NodeNetwork, from.Node + " -> node-network host " + host.String() + " http", from, "",
				[]string{"http", "http://" + net.JoinHostPort(host.String(), "8080") + "/"}},
			TrafficCase{NodeNetwork, from.Node + " -> node-network host " + host.String() + " udp", from, "",
				[]string{"udp", net.JoinHostPort(host.String(), "8082")}})
	}
	return cases, nil
}
