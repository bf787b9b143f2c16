#!/bin/sh
# Records, from a running netcert kind cluster, what the scale benchmark replays
# (BenchmarkSweep500Nodes in doctor/): every command one healthy doctor sweep runs on the control
# plane and on a worker, with its output and how long it took (`netcert doctor --record-nodes`),
# and the API objects the checks read. Nothing on the cluster changes.
#
# Keep a suite's cluster (NETCERT_KEEP_CLUSTER=1 make suite SUITE=flannel ... ), then run from the
# repository's root:  sh doctor/testdata/scale/capture.sh netcert-flannel
set -eu
cluster=${1:?usage: capture.sh CLUSTER_NAME}
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./cmd/netcert doctor --kind "$cluster" --record-nodes "$tmp" >/dev/null || true
cp "$tmp/$cluster-control-plane.json" "$dir/control-plane.json"
cp "$tmp/$cluster-worker.json" "$dir/worker.json"
k() { kubectl --context "kind-$cluster" "$@"; }
{
	k get nodes,pods,services,daemonsets,deployments,networkpolicies -A -o json
	k get endpointslices.discovery.k8s.io -A -o json
	k -n kube-system get configmap coredns -o json
	k -n kube-flannel get configmap kube-flannel-cfg -o json
	k -n kube-system get configmap kube-proxy -o json
} >"$dir/api.json"
