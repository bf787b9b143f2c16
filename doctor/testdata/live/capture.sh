#!/bin/sh
# Captures, from a running netcert kind cluster, the real output of every command whose parser the
# doctor has: `ip -j addr` and `ip -j route show table all` (iproute), the three netfilter views
# (iptables-legacy-save -c, iptables-nft-save -c, nft -a list ruleset), the persisted ip_forward
# lines of the sysctl files, and CoreDNS's Corefile. Healthy first; then, on the worker, the
# overlay port blocked (the injector's iptables-nft INPUT rule, then its native nft table) and a
# pod-CIDR route like pod-cidr-overlap's, each removed again right after the capture.
#
# Keep a suite's cluster (NETCERT_KEEP_CLUSTER=1 make suite SUITE=smoke), then run from this
# directory:  sh capture.sh netcert-smoke;  make clean-clusters  deletes the cluster afterwards.
set -eu
cluster=${1:?usage: capture.sh CLUSTER_NAME}
cp=$cluster-control-plane
w=$cluster-worker
x() { n=$1; shift; docker exec "$n" "$@"; }

for n in "$cp" "$w"; do
	role=${n#"$cluster"-}
	x "$n" ip -j addr >"$role-addr.json"
	x "$n" ip -j route show table all >"$role-route.json"
done
x "$w" iptables-legacy-save -c >worker-legacy.save
x "$w" iptables-nft-save -c >worker-nft.save
x "$w" nft -a list ruleset >worker-ruleset.nft
x "$w" sh -c 'grep -rH ip_forward /etc/sysctl.conf /etc/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d 2>/dev/null || true' >worker-sysctl.grep
x "$cp" kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get configmap coredns \
	-o jsonpath='{.data.Corefile}' >coredns.Corefile

drop="-p udp --dport 8472 -m comment --comment netcert-fault -j DROP"
# shellcheck disable=SC2086
x "$w" iptables -w -I INPUT $drop
x "$w" iptables-nft-save -c >worker-blocked-nft.save
# shellcheck disable=SC2086
x "$w" iptables -w -D INPUT $drop

x "$w" nft 'add table inet netcert_fault; add chain inet netcert_fault input { type filter hook input priority 0; policy accept; }; add rule inet netcert_fault input udp dport 8472 counter drop comment "netcert-fault"'
x "$w" nft -a list ruleset >worker-blocked-ruleset.nft
x "$w" nft delete table inet netcert_fault

half=$(x "$w" ip -j route show dev flannel.1 | sed -n 's/.*"dst":"\([0-9.]*\)\/24".*/\1/p' | head -1)
x "$w" ip link add ncfault0 type veth peer name ncfault1
x "$w" ip link set ncfault0 up
x "$w" ip route add "$half/25" dev ncfault0
x "$w" ip -j route show table all >worker-fault-route.json
x "$w" ip link del ncfault0
ls -l
