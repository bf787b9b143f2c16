#!/bin/sh
# Captures the netfilter views of this directory — `iptables-legacy-save -c` (*-legacy.save),
# `iptables-nft-save -c` (*-nft.save) and `nft -a list ruleset` (*-ruleset.nft) — from network
# namespaces loaded with the rules of a kind node (kube-proxy in iptables mode, Flannel, kind's
# masq agent; Calico's VXLAN allow-list for calico-healthy), then with rules that drop the
# overlay port, then after netcert's repair. Tools: iptables 1.8.9, nftables 1.0.6, ipset.
# IPv6 is off, every device stays down and nothing sends a packet. Run as root from this
# directory; it deletes what it creates.
set -eu
ns=netcert-test-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
fresh() {
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns"
	for k in all default; do ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=1"; done
}
x() { ip netns exec "$ns" "$@"; }
nft4() { x iptables-nft -w "$@"; }
leg4() { x iptables-legacy -w "$@"; }
# dump writes the three views of scenario $1; a view identical to flannel-healthy's is not
# written again (the tests read flannel-healthy's instead).
dump() {
	x iptables-legacy-save -c >"$1-legacy.save"
	x iptables-nft-save -c >"$1-nft.save"
	x nft -a list ruleset >"$1-ruleset.nft"
	[ "$1" = flannel-healthy ] && return
	for v in legacy.save nft.save ruleset.nft; do
		if [ "$(grep -v '^#' "$1-$v")" = "$(grep -v '^#' "flannel-healthy-$v")" ]; then rm "$1-$v"; fi
	done
}
repair="netcert-repair overlay-port-blocked"
handle() { x nft -a list chain "$1" "$2" "$3" | grep -- "$4" | sed 's/.*# handle //'; }
# accept_before BACKEND TABLE CHAIN PATTERN -s|-d: netcert's repair, as OverlayPortBlocked.Plan
# spells it, before the first rule of CHAIN that matches PATTERN; the peers of kind-worker are
# 172.18.0.2 (kind-control-plane) and 172.18.0.4 (kind-worker2).
accept_before() {
	pos=$(x "$1" -t "$2" -S "$3" | grep -n -- "$4" | head -1 | cut -d: -f1)
	for ip in 172.18.0.2 172.18.0.4; do
		x "$1" -w -t "$2" -I "$3" $((pos - 1)) "$5" "$ip/32" -p udp -m udp --dport 8472 -m comment --comment "$repair" -j ACCEPT
	done
}
nft_accept_before() {
	h=$(handle "$1" "$2" "$3" "$4")
	x nft insert rule "$1" "$2" "$3" handle "$h" "$5" '{ 172.18.0.2, 172.18.0.4 }' udp dport 8472 accept comment "\"$repair\""
}

# kind-worker (172.18.0.3, podCIDR 10.244.1.0/24) of a Flannel cluster, trimmed to one Service.
kind_node() {
	nft4 -N KUBE-FIREWALL
	nft4 -A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
	nft4 -N KUBE-FORWARD
	nft4 -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
	nft4 -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
	nft4 -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	nft4 -N FLANNEL-FWD
	nft4 -A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
	nft4 -A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
	nft4 -A INPUT -j KUBE-FIREWALL
	nft4 -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
	nft4 -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
	nft4 -A OUTPUT -j KUBE-FIREWALL
	# A host firewall: other ports and protocols, and "all UDP but DNS, VXLAN and NTP".
	nft4 -N HOST-FW
	nft4 -A HOST-FW -p udp -m udp --dport 4789 -j DROP
	nft4 -A HOST-FW -p tcp -m tcp --dport 8472 -j DROP
	nft4 -A HOST-FW -p udp -m udp --sport 8472 -j DROP
	nft4 -A HOST-FW -p udp -m udp ! --dport 8472 -m comment --comment "drop all udp but vxlan" -j LOG
	nft4 -A HOST-FW -p udp -m multiport ! --dports 53,123,8472 -j DROP
	nft4 -A HOST-FW -p tcp -m multiport --dports 8000:9000 -j DROP
	nft4 -A INPUT -j HOST-FW
	nft4 -t nat -N KUBE-SERVICES
	nft4 -t nat -N KUBE-SVC-TCOU7JCQXEZGVUNU
	nft4 -t nat -N KUBE-SEP-IT2ZTR26TO4XFPTO
	nft4 -t nat -N KUBE-POSTROUTING
	nft4 -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	nft4 -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	nft4 -t nat -A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
	nft4 -t nat -A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.0.2:53" -j KUBE-SEP-IT2ZTR26TO4XFPTO
	nft4 -t nat -A KUBE-SEP-IT2ZTR26TO4XFPTO -p udp -m comment --comment kube-system/kube-dns:dns -m udp -j DNAT --to-destination 10.244.0.2:53
	nft4 -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
	nft4 -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
	nft4 -t nat -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
	nft4 -t nat -N FLANNEL-POSTRTG
	nft4 -t nat -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
	nft4 -t nat -A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
	nft4 -t nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
	nft4 -t nat -N KIND-MASQ-AGENT
	nft4 -t nat -A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain" -j KIND-MASQ-AGENT
	nft4 -t nat -A KIND-MASQ-AGENT -d 10.244.0.0/16 -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN
	nft4 -t nat -A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE
	# A native table of a host agent, and an IPv6 one (it never sees IPv4 VXLAN).
	x nft 'add table inet host_agent
		add chain inet host_agent input { type filter hook input priority 10; policy accept; }
		add rule inet host_agent input tcp dport 22 counter accept
		add rule inet host_agent input udp dport { 53, 123 } accept
		add rule inet host_agent input udp dport 4789 counter drop
		add rule inet host_agent input udp dport != 8472 counter reject
		add rule inet host_agent input udp sport 8472 drop
		add table ip6 v6only
		add chain ip6 v6only input { type filter hook input priority 0; policy accept; }
		add rule ip6 v6only input udp dport 8472 drop'
}

fresh
kind_node
dump flannel-healthy

# One fault at a time on the healthy node, then netcert's repair for it.
nft4 -t raw -I PREROUTING -p udp --dport 8472 -m comment --comment netcert-fault -j DROP
dump raw-drop
accept_before iptables-nft raw PREROUTING netcert-fault -s
dump raw-drop-repaired

fresh
kind_node
x nft 'add table inet netcert_fault
	add chain inet netcert_fault input { type filter hook input priority 0; policy accept; }
	add rule inet netcert_fault input udp dport 8472 counter drop comment "netcert-fault"'
dump nft-drop
nft_accept_before inet netcert_fault input netcert-fault 'ip saddr'
dump nft-drop-repaired

fresh
kind_node
nft4 -A OUTPUT -p udp -m multiport --dports 8000:9000 -j REJECT
dump output-reject
accept_before iptables-nft filter OUTPUT 'dports 8000:9000' -d
dump output-reject-repaired

fresh
kind_node
leg4 -I INPUT -p udp -m udp --dport 8472 -j REJECT
dump legacy-reject
accept_before iptables-legacy filter INPUT 'dport 8472 -j REJECT' -s
dump legacy-reject-repaired

# Every way of dropping the overlay port that netcert looks for, on the healthy node, and a
# netdev table without a counter.
fresh
kind_node
nft4 -I INPUT -p udp --dport 8472 -m comment --comment netcert-fault -j DROP
nft4 -t raw -I PREROUTING -p udp --dport 8472 -m comment --comment netcert-fault -j DROP
nft4 -A OUTPUT -p udp -m multiport --dports 8000:9000 -j REJECT
nft4 -A HOST-FW -p udp -m udp --dport 8400:8500 -j REJECT --reject-with icmp-admin-prohibited
nft4 -t mangle -A FORWARD -p udp -m multiport --dports 53,8472 -j DROP
leg4 -A INPUT -p udp -m udp --dport 8472 -j REJECT
leg4 -A FORWARD -s 10.0.0.0/8 -p udp -m multiport --dports 8470:8479,9000 -j DROP
leg4 -t raw -A OUTPUT -p udp -m udp --dport 8473 -j DROP
x nft 'add table inet netcert_fault
	add chain inet netcert_fault input { type filter hook input priority 0; policy accept; }
	add rule inet netcert_fault input udp dport 8472 counter drop comment "netcert-fault"'
x nft 'add table ip fw
	add set ip fw overlay_ports { type inet_service; elements = { 4789, 8472 }; }
	add chain ip fw custom
	add chain ip fw pre { type filter hook prerouting priority -300; policy accept; }
	add chain ip fw in { type filter hook input priority 0; policy accept; }
	add chain ip fw out { type filter hook output priority 0; policy accept; }
	add rule ip fw pre udp dport 8000-9000 drop
	add rule ip fw in jump custom
	add rule ip fw custom udp dport @overlay_ports counter drop
	add rule ip fw custom meta l4proto udp th dport 8472 counter drop
	add rule ip fw custom tcp dport 8472 counter drop
	add rule ip fw out udp dport { 53, 8472 } counter reject'
x ip link add eth0 type veth peer name eth0peer
x nft 'add table netdev edge
	add chain netdev edge ingress { type filter hook ingress device "eth0" priority 0; policy accept; }
	add rule netdev edge ingress ip saddr 10.0.0.0/8 udp dport 8472 counter reject with icmp type admin-prohibited'
dump blocked

# kind-worker of a Calico VXLAN cluster: Felix's allow-list for VXLAN (UDP 4789) from known hosts.
fresh
x ipset create cali40all-vxlan-net hash:net family inet
x ipset add cali40all-vxlan-net 172.18.0.2
x ipset add cali40all-vxlan-net 172.18.0.4
nft4 -N cali-INPUT
nft4 -N cali-wl-to-host
nft4 -A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT
nft4 -A cali-INPUT -p udp -m comment --comment "cali:J76FwxInZIsk7uKY" -m comment --comment "Allow IPv4 VXLAN packets from allowed hosts" -m multiport --dports 4789 -m set --match-set cali40all-vxlan-net src -m addrtype --dst-type LOCAL -j ACCEPT
nft4 -A cali-INPUT -p udp -m comment --comment "cali:4cgmbdWsLmozYhJh" -m comment --comment "Drop IPv4 VXLAN packets from non-allowed hosts" -m multiport --dports 4789 -m addrtype --dst-type LOCAL -j DROP
nft4 -A cali-INPUT -i cali+ -m comment --comment "cali:FewJpBykm9iJ-YNH" -g cali-wl-to-host
nft4 -A cali-INPUT -m comment --comment "cali:hder3ARWznqqv8Va" -j ACCEPT
nft4 -t raw -N cali-PREROUTING
nft4 -t raw -A PREROUTING -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING
nft4 -t raw -A cali-PREROUTING -m comment --comment "cali:XFX5xbM8B9qR10JG" -j MARK --set-xmark 0x0/0xf0000
nft4 -t raw -A cali-PREROUTING -p udp -m comment --comment "cali:Pa7U2ZkgBnPTQWRH" -m udp --sport 4789 -j ACCEPT
dump calico-healthy
