#!/bin/sh
# Captures the `ip -j addr show` / `ip -j route show table all` files of this directory from
# network namespaces built like the nodes of a 2-node kind cluster with Flannel (VXLAN): eth0 on
# the Docker network, flannel.1, cni0 with one pod veth. IPv6 is off in every namespace and no
# command sends a packet. Run as root from this directory; it deletes what it creates.
set -eu
id=netcert-test-$$
docker=$id-docker
cleanup() { for ns in "$id-cp" "$id-w" "$id-ov" "$id-ow" "$id-pod" "$docker"; do ip netns del "$ns" 2>/dev/null || true; done; }
trap cleanup EXIT
mkns() { ip netns add "$1"; for k in all default; do ip netns exec "$1" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=1"; done; ip -n "$1" link set lo up; }
nx() { ip -n "$@"; }
mkns "$docker"; mkns "$id-pod"

# node: ns, eth0 address, gateway, flannel.1 address, cni0 address, pod veth, peer pod
# podCIDR, peer flannel.1 address
node() {
	ns=$1; mkns "$ns"
	ip link add eth0 netns "$ns" type veth peer name "p-${ns##*-}" netns "$docker"
	nx "$docker" link set "p-${ns##*-}" up
	nx "$ns" addr add "$2" dev eth0; nx "$ns" link set eth0 up
	nx "$ns" route add default via "$3" dev eth0
	nx "$ns" link add flannel.1 type vxlan id 1 local "${2%/*}" dev eth0 dstport 8472 nolearning
	nx "$ns" addr add "$4" dev flannel.1; nx "$ns" link set flannel.1 up
	nx "$ns" link add cni0 type bridge; nx "$ns" addr add "$5" dev cni0; nx "$ns" link set cni0 up
	nx "$ns" link add "$6" type veth peer name "e-${ns##*-}" netns "$id-pod"
	nx "$id-pod" link set "e-${ns##*-}" up
	nx "$ns" link set "$6" master cni0; nx "$ns" link set "$6" up
	nx "$ns" route add "$7" via "$8" dev flannel.1 onlink
}
dump() { nx "$1" -j addr show >"$2-addr.json"; nx "$1" -j route show table all >"$2-route.json"; }

node "$id-cp" 172.18.0.2/16 172.18.0.1 10.244.0.0/32 10.244.0.1/24 veth3f2a9c1d 10.244.1.0/24 10.244.1.0
node "$id-w" 172.18.0.3/16 172.18.0.1 10.244.1.0/32 10.244.1.1/24 vethb81e44a0 10.244.0.0/24 10.244.0.0
dump "$id-cp" flannel-cp; dump "$id-w" flannel-worker

# The pod-cidr-overlap fault on the control-plane: a veth pair and a route more specific than
# the worker's podCIDR.
nx "$id-cp" link add ncfault0 type veth peer name ncfault1
nx "$id-cp" link set ncfault0 up; nx "$id-cp" link set ncfault1 up
nx "$id-cp" route add 10.244.1.0/25 dev ncfault0
dump "$id-cp" flannel-cp-fault

# The same route through the primary interface eth0 (the InternalIP's and the default route's).
nx "$id-cp" link del ncfault0
nx "$id-cp" route add 10.244.1.0/25 via 172.18.0.1 dev eth0
dump "$id-cp" flannel-cp-eth0

# A VLAN-like second interface on the worker: an address whose prefix equals the control-plane's
# podCIDR, a static route inside the pod network with a metric, one in another table.
ip link add eth1 netns "$id-w" type veth peer name p-w1 netns "$docker"
nx "$docker" link set p-w1 up
nx "$id-w" addr add 10.244.0.254/24 dev eth1; nx "$id-w" link set eth1 up
nx "$id-w" route add 10.244.128.0/17 via 10.244.0.1 dev eth1 proto static metric 100
nx "$id-w" route add 10.244.64.0/18 dev eth1 table 100
dump "$id-w" flannel-worker-vlan

# A worker with three interfaces: eth0 keeps the InternalIP, the default route moves to eth1
# (an address inside the control-plane's podCIDR), eth2 routes all of 10.0.0.0/8.
nx "$id-w" addr flush dev eth1; nx "$id-w" route flush table 100
nx "$id-w" addr add 10.244.0.130/25 dev eth1
nx "$id-w" route replace default via 10.244.0.129 dev eth1
ip link add eth2 netns "$id-w" type veth peer name p-w2 netns "$docker"; nx "$docker" link set p-w2 up
nx "$id-w" addr add 192.168.50.2/24 dev eth2; nx "$id-w" link set eth2 up
nx "$id-w" route add 10.0.0.0/8 via 192.168.50.1 dev eth2
dump "$id-w" flannel-worker-3nic

# A cluster created with a pod subnet equal to its node network (kind-configs/flannel-overlap.yaml).
node "$id-ov" 10.250.0.2/16 10.250.0.1 10.250.0.0/32 10.250.0.1/24 veth6c1d20e7 10.250.1.0/24 10.250.1.0
node "$id-ow" 10.250.0.3/16 10.250.0.1 10.250.1.0/32 10.250.1.1/24 veth91f0a3b2 10.250.0.0/24 10.250.0.0
dump "$id-ov" overlap-cp; dump "$id-ow" overlap-worker
