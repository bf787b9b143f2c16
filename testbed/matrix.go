package testbed

import (
	"context"
	"fmt"
	"net"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/traffic"
)

// TrafficCase is one real-traffic check of the matrix (traffic.Case).
type TrafficCase = traffic.Case

// TrafficMatrix returns the test bed's full matrix: the doctor's core paths (traffic.Paths, with
// external-to-nodeport from the node-network host) and, from set a's pod of every node, DNS for
// a cluster Service name and a test-zone name, and HTTP and UDP to the node-network host.
func TrafficMatrix(ctx context.Context, cfg *envconf.Config) ([]TrafficCase, error) {
	client, err := kubernetes.NewForConfig(restConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cases, err := traffic.Paths(ctx, client, traffic.Options{External: true})
	if err != nil {
		return nil, err
	}
	pods, err := traffic.ProbePods(ctx, client)
	if err != nil {
		return nil, err
	}
	host, _, err := NetworkHost(ctx, cfg.Client().Resources())
	if err != nil {
		return nil, err
	}
	for _, from := range traffic.Senders(pods) {
		add := func(path, name, probe, target string) { // each waits as long as the core paths' cases
			cases = append(cases, TrafficCase{Path: path, Name: from.Node + " -> " + name, From: from, Container: traffic.ProbeContainer,
				Crosses: []string{from.Node}, Endpoints: []string{from.IP}, Args: []string{probe, "--timeout", traffic.ProbeTimeout, target}})
		}
		add(traffic.DNSClusterName, ProbeService+" service name", "dns", ProbeService+"."+Namespace+".svc.cluster.local")
		add(traffic.DNSTestZone, "test zone "+TestRecordName, "dns", TestRecordName)
		add(traffic.PodToNodeNetworkHost, "node-network host "+host.String()+" http", "http", "http://"+net.JoinHostPort(host.String(), "8080")+"/")
		add(traffic.PodToNodeNetworkHost, "node-network host "+host.String()+" udp", "udp", net.JoinHostPort(host.String(), "8082"))
	}
	return cases, nil
}
