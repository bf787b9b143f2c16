package kube

import "k8s.io/client-go/rest"

// Throughput returns a copy of cfg that may send 50 requests a second (bursts of 100): a sweep
// reads nodes, Services, EndpointSlices and pods and execs a probe per traffic case, which
// client-go's default 5 a second would throttle to seconds of waiting.
func Throughput(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.QPS, out.Burst = 50, 100
	return out
}
