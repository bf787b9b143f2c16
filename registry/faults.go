package registry

import (
	"errors"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/traffic"
)

// The fault IDs, for tables written in code (a suite's list): a typo fails to compile.
const (
	IPForwardOff          = "ip-forward-off"
	BridgeNFCallOff       = "bridge-nf-call-off"
	RPFilterStrict        = "rp-filter-strict"
	CNIBridgeDown         = "cni-bridge-down"
	CNIBridgeWrongAddress = "cni-bridge-wrong-address"
	FlannelSubnetStale    = "flannel-subnet-stale"
	VethDetached          = "veth-detached"
	HairpinOff            = "hairpin-off"
	MTUMismatch           = "mtu-mismatch"
	ConntrackFull         = "conntrack-full"
	ForwardPolicyDrop     = "forward-policy-drop"
	OverlayPortBlocked    = "overlay-port-blocked"
	PodCIDROverlap        = "pod-cidr-overlap"
	CalicoIPPoolExhausted = "calico-ippool-exhausted"
	KubeProxyRulesMissing = "kube-proxy-rules-missing"
	NodeResolvConfBroken  = "node-resolv-conf-broken"
	CoreDNSLoop           = "coredns-loop"
	CoreDNSForwardBroken  = "coredns-forward-broken"
	NetworkPolicyBlocks   = "network-policy-blocks"
)

// overlayPort is each CNI's VXLAN port.
var overlayPort = map[string]int{"flannel": 8472, "calico": 4789}

// entries are the faults, in the doctor's causal order.
var entries = []Entry{
	{
		ID:      IPForwardOff,
		Problem: doctor.IPForwardOff{},
		Injectors: []Injector{{
			New: func(b Bed) (faults.Fault, error) { return faults.IPForwardOff{Node: b.Node}, nil },
			// Without forwarding the node routes nothing to or from its pods off the node.
			Breaks:   func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeFrom(b.Node) },
			Portable: true,
		}},
		Injected: "`net.ipv4.ip_forward=0` on a worker",
		Reasons:  "every node's live sysctl, and the persisted value (sysctl.d drop-ins in boot order, /etc/sysctl.conf)",
		Repairs:  "set 1 now, persist in `/etc/sysctl.d/99-zz-netcert-ip-forward.conf`",
	},
	{
		ID:      BridgeNFCallOff,
		Problem: doctor.BridgeNFCallOff{},
		NotOn:   noPodBridge,
		Injectors: []Injector{{
			New: func(b Bed) (faults.Fault, error) { return faults.BridgeNFCallOff{Node: b.Node}, nil },
			// The reply of a pod's same-node Service endpoint crosses the bridge un-NATed; the
			// hairpin and the Services of other nodes' pods are NATed on the routed path.
			Breaks: func(b Bed) func(traffic.Case) bool {
				return traffic.FromNodeOnPath(b.Node, traffic.PodToServiceSameNode)
			},
			Portable: true,
		}},
		Injected: "`net.bridge.bridge-nf-call-iptables=0` on a worker (per network namespace: the kind node's own)",
		Reasons:  "the interfaces of every node (`ip -j -d link show`: a bridge holding ports means pods are bridged; none: not applicable), the live sysctl (absent: br_netfilter not loaded) and the persisted value in boot order",
		Repairs:  "set 1 now, persist in `/etc/sysctl.d/99-zz-netcert-bridge-nf-call.conf` and load br_netfilter at boot (`/etc/modules-load.d/netcert-br_netfilter.conf`); a persisted 0 in /etc/sysctl.conf or a missing module: a manual step",
	},
	{
		ID:      RPFilterStrict,
		Problem: doctor.RPFilterStrict{},
		Injectors: []Injector{{
			// Not on the NotOn of the entry: the fault exists on both CNIs (a multi-homed node),
			// this injector just breaks no path of a kind node.
			NotOn: map[string]string{"flannel": notBrokenRPFilter, "calico": notBrokenRPFilter},
			New:   func(b Bed) (faults.Fault, error) { return faults.RPFilterStrict{Node: b.Node}, nil },
			// Where the node's routes are asymmetric: what its pods receive from other nodes.
			Breaks:   func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeVia(b.Node) },
			Portable: true,
		}},
		Injected: "`net.ipv4.conf.all.rp_filter=1` and rp_filter=1 on every interface of a worker (strict reverse-path filtering, as a hardening guide asks); not run by the suites: a kind node routes symmetrically, so nothing breaks (`make kernel` proves the check on an asymmetric node in network namespaces)",
		Reasons:  "every node's kernel, read-only: `ip route get DST from SRC iif IFACE` (the input lookup with its source validation) for each kind of packet the CNI needs the node to take — other nodes' pod ranges (podCIDRs; Calico's IPAM blocks) over the overlay or natively, its pods on their bridge or veth, its peers' InternalIPs on the node network; a refusal is strict filtering's when the interface's effective rp_filter (the larger of all's and its own) is 1 and the route back to SRC (`ip route get SRC`) leaves elsewhere; the live values and the persisted ones (sysctl.d in boot order, /etc/sysctl.conf). Calico's strict cali* interfaces, which refuse nothing, pass",
		Repairs:  "rp_filter=2 (loose) on the refusing interfaces, and on all when it is 1 (an interface validates with the larger value), now and in `/etc/sysctl.d/99-zz-netcert-rp-filter.conf`, verified by asking the kernel again; an interface without an IPv4 address (loose is strict there) or a strict value in a file read after the drop-in: a manual step",
	},
	{
		ID:      CNIBridgeDown,
		Problem: doctor.CNIBridgeDown{},
		NotOn:   noPodBridge,
		Injectors: []Injector{{
			New: func(b Bed) (faults.Fault, error) { return faults.CNIBridgeDown{Node: b.Node}, nil },
			// The node's pods are cut off: from the node, from each other, from other nodes.
			Breaks:   func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeVia(b.Node) },
			Portable: true,
		}},
		Injected: "`ip link set cni0 down` on a worker",
		Reasons:  "every node's interfaces (`ip -j -d link show`): the pod bridge (a bridge holding veths whose peers are in other network namespaces, or cni0) and its state",
		Repairs:  "`ip link set cni0 up`",
	},
	{
		ID:      CNIBridgeWrongAddress,
		Problem: doctor.CNIBridgeWrongAddress{},
		NotOn:   noPodBridge,
		Injectors: []Injector{{
			// An address of the pod network that is no node's podCIDR.
			New: func(b Bed) (faults.Fault, error) {
				return faults.CNIBridgeWrongAddress{Node: b.Node, Address: "10.244.250.1/24"}, nil
			},
			Breaks: func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeVia(b.Node) },
		}},
		Injected: "cni0 on a worker given `10.244.250.1/24` in place of its own address (the pods' gateway)",
		Reasons:  "every node's pod bridge addresses (`ip -j addr show`) against the node's podCIDR in the API",
		Repairs:  "delete the addresses outside the podCIDR, add the gateway (the podCIDR's first address) if none is left inside",
	},
	{
		ID:      FlannelSubnetStale,
		Problem: doctor.FlannelSubnetStale{},
		NotOn:   map[string]string{"calico": "Calico has no subnet.env: its IPAM gives out the addresses (calico-ippool-exhausted is its counterpart)"},
		Injectors: []Injector{{
			// A subnet of the pod network that is no node's lease.
			New: func(b Bed) (faults.Fault, error) {
				return faults.FlannelSubnetStale{Node: b.Node, Subnet: "10.244.250.1/24"}, nil
			},
			NewPodFails: true,
		}},
		Injected: "FLANNEL_SUBNET in a worker's `/run/flannel/subnet.env` rewritten to `10.244.250.1/24`, as a file left from an earlier lease: running pods keep working, a new pod on the node does not start (cni0 already holds another address)",
		Reasons:  "every node's `/run/flannel/subnet.env` (FLANNEL_SUBNET, or the file missing) against the node's podCIDR in the API, Flannel's lease; the node's pods waiting for their network are named",
		Repairs:  "restart kube-flannel on the node (Eviction API; a PodDisruptionBudget refusal is an error) and wait for the new pod and a file that agrees: flanneld writes it from the lease when it starts, and the kubelet sets up the waiting pods again",
	},
	{
		ID:      VethDetached,
		Problem: doctor.VethDetached{},
		NotOn:   noPodBridge,
		Injectors: []Injector{{
			// The veth of the node's probe pod of set b: set a's pod reaches it on the same node
			// only, directly and through the same-node Service.
			New: func(b Bed) (faults.Fault, error) {
				return faults.VethDetached{Pod: probePod(b, "b")}, nil
			},
			Breaks: func(b Bed) func(traffic.Case) bool { return traffic.FromNodeOnPath(b.Node, traffic.PodToPodSameNode) },
		}},
		Injected: "the veth of a worker's probe pod (set b) taken out of cni0 (`ip link set VETH nomaster`)",
		Reasons:  "every node's interfaces: a veth whose peer is in another network namespace and that holds no address is a pod's; on a node with a pod bridge it must be an up port of it",
		Repairs:  "plug the veth back into the bridge, set it up, hairpin mode on where the bridge's other ports have it",
	},
	{
		ID:      HairpinOff,
		Problem: doctor.HairpinOff{},
		NotOn:   noPodBridge,
		Injectors: []Injector{{
			// The veth of the node's probe pod of set a, which sends the hairpin case.
			New: func(b Bed) (faults.Fault, error) {
				return faults.HairpinOff{Pod: probePod(b, "a")}, nil
			},
			Breaks: func(b Bed) func(traffic.Case) bool {
				return traffic.FromNodeOnPath(b.Node, traffic.PodToServiceHairpin)
			},
		}},
		Injected: "hairpin mode off on the cni0 port of a worker's probe pod (set a)",
		Reasons:  "every pod port of the pod bridge (`ip -j -d link show`: `hairpin`)",
		Repairs:  "`ip link set VETH type bridge_slave hairpin on`",
	},
	{
		ID:      MTUMismatch,
		Problem: doctor.MTUMismatch{},
		Injectors: []Injector{
			{
				Variant: "pod",
				// The node's probe pod of set a, which sends the full-MTU cases: its datagrams are
				// larger than the overlay (and the other pods' veths) carry.
				New: func(b Bed) (faults.Fault, error) {
					return faults.MTUMismatch{Pod: probePod(b, "a"), MTU: 1500}, nil
				},
				Breaks: func(b Bed) func(traffic.Case) bool { return traffic.FromNodeOnPath(b.Node, traffic.PodToPodFullMTU) },
			},
			{
				Variant: "node-network",
				// The kind node's uplink under the 1450 overlay's 1500-byte outer packets: the
				// node's full-size overlay packets are dropped both ways.
				New: func(b Bed) (faults.Fault, error) {
					return faults.MTUMismatch{Node: b.Node, Device: "eth0", MTU: 1400}, nil
				},
				Breaks: func(b Bed) func(traffic.Case) bool {
					return traffic.BetweenNodesOnPath(b.Node, traffic.PodToPodFullMTU)
				},
				Manual: true,
			},
		},
		Injected: "a worker's probe pod (set a) and its veth's host end given MTU 1500 on a 1450 overlay, as a CNI configured with the node network's MTU does (variant pod); a worker's eth0 lowered to 1400 under the overlay's 1500-byte outer packets, as a node network changed after the CNI sized its overlay (variant node-network)",
		Reasons:  "every node's interfaces (`ip -j -d link show`) and every pod network namespace's eth0 (`ip -n NS -j -d link show`): a pod's eth0 or veth above the overlay device's MTU (the smallest of VXLAN, IPIP, WireGuard devices that are up), the two ends of a pod's veth unequal, an overlay whose MTU plus its encapsulation (VXLAN 50 bytes) exceeds its lower device's; the symptom is a full-MTU UDP datagram with DF (`pod-to-pod/full-mtu`), not a small ping",
		Repairs:  "lower the pod's eth0 (in its namespace) and its veth's host end to the overlay's MTU (for the pod's life: a new pod gets the CNI's MTU); an overlay too large for its lower device: a manual plan (the node network's MTU or the CNI's)",
	},
	{
		ID:      ConntrackFull,
		Problem: doctor.ConntrackFull{},
		// No injector: the check is proven by unit tests on real /proc output.
		NotOn: map[string]string{
			"flannel": notInjectableConntrack,
			"calico":  notInjectableConntrack,
		},
		Injected: "nothing: `net.netfilter.nf_conntrack_max` cannot be written inside a kind node (the kernel refuses it outside the initial network namespace), so the table cannot be filled on purpose; unit tests run the check on real /proc output",
		Reasons:  "every node's `nf_conntrack_count` against `nf_conntrack_max`: Warn from 80%, Fail from 95% (the kernel drops new flows when the table is full)",
		Repairs:  "a manual plan: find what opens the flows (`conntrack -S`, `conntrack -L`) and raise the limit if the node needs it",
	},
	{
		ID:      ForwardPolicyDrop,
		Problem: doctor.ForwardPolicyDrop{},
		Injectors: []Injector{
			forwardInjector(faults.ForwardPolicyDropLegacy, false),
			forwardInjector(faults.ForwardPolicyDropNftTable, true),
		},
		Injected: "a DROP policy on a worker's forward hook with no accept for the pods: `iptables-legacy -P FORWARD DROP` beside the CNI's and kube-proxy's iptables-nft accepts (variant legacy-policy), or a native `table inet netcert-fault-forward` whose forward chain has `policy drop`, as a firewall's (variant nft-table)",
		Reasons:  "the pod network (the nodes' podCIDRs, Flannel's Network, Calico's IPPools) and every base chain on the forward hook of iptables-legacy, iptables-nft and nft (ip, inet): a DROP policy, or a rule matching every packet that drops or rejects, with no rule before it (in the chain or a chain it jumps to) accepting the pod network, a pod interface (cni0, flannel.1, cali+, vxlan.calico, tunl0) or Calico's accept mark",
		Repairs:  "an ACCEPT per pod network range as source and as destination (`netcert: pod network`) at the top of each such chain, in its own view; the foreign policy stays, and persisting it in the firewall's own configuration is left to a person (the plan says so)",
	},
	{
		ID:      OverlayPortBlocked,
		Problem: doctor.OverlayPortBlocked{},
		Injectors: []Injector{
			overlayInjector(faults.OverlayPortBlockedInputDrop, map[string]string{
				"calico": "Felix accepts VXLAN from known nodes in cali-INPUT, whose jump it keeps first in INPUT: a DROP appended to INPUT never sees the overlay"}),
			overlayInjector(faults.OverlayPortBlockedRawDrop, nil),
			overlayInjector(faults.OverlayPortBlockedNftDrop, nil),
			overlayInjector(faults.OverlayPortBlockedPeerDrop, nil),
			overlayInjector(faults.OverlayPortBlockedSetChain, nil),
		},
		Injected: "a DROP for the VXLAN port in a worker's INPUT (also raw PREROUTING or a native nft table, or shapes that name no port: a DROP of UDP from each peer, an ipset match in a user chain): UDP 8472 on Flannel, 4789 on Calico",
		Reasons:  "the port from Flannel's net-conf or Calico's FelixConfiguration and IPPools; pod-to-pod probes between every node pair; every rule and DROP policy of iptables-legacy, iptables-nft and nft whose matches do not rule out UDP to the port (no port, addresses, sets, user chains, REJECT, policies), named when the kernel's counters rose while the pairs were probed (each unanswered probe sends four datagrams, 150 ms apart): a rule that names the port at once, one of another shape by more than its rate in an idle window after the probes accounts for; the finding names the view, table, chain, position or handle and the rule's text with the counter deltas (rules that only see pods' own traffic, like Calico's per-workload chains, are not blamed; a rule that names the port but has no counter is the suspect when nothing counts)",
		Repairs:  "an ACCEPT per peer node (its InternalIP), inserted directly before the dropping rule (appended where a policy drops); the foreign rule stays, no chain is flushed",
	},
	{
		ID:      PodCIDROverlap,
		Problem: doctor.PodCIDROverlap{},
		Injectors: []Injector{
			{
				Variant: "host-route",
				NotOn:   map[string]string{"calico": "Calico routes each IPAM block to its node: the overlap is a pool over the node network (variant ippool)"},
				New: func(b Bed) (faults.Fault, error) {
					return faults.PodCIDROverlap{Node: b.Node, TargetNode: b.Other}, nil
				},
				// The node sends what is meant for the first half of the target's podCIDR, where
				// the probe pods are, into the fault's veth.
				Breaks: func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeBetween(b.Node, b.Other) },
				// The repair deletes the node's overlapping route only with consent, as a person
				// gives it with `repair --delete-host-ranges`.
				Repair: doctor.PodCIDROverlap{DeleteHostRanges: true},
			},
			{
				Variant: "ippool",
				NotOn:   map[string]string{"flannel": "Flannel has no IP pools: the overlap is a host route (variant host-route)"},
				// An IPPool over the /26 of the node-network host, with a workload on the broken
				// node: Calico routes the pool's block to that node (a blackhole there, VXLAN
				// elsewhere).
				New: func(b Bed) (faults.Fault, error) {
					if !b.NetworkHost.IsValid() || b.ProbeImage == "" {
						return nil, errors.New("pod-cidr-overlap on Calico needs a host of the node network and the probe image (the test bed's)")
					}
					pool, err := b.NetworkHost.Prefix(26)
					if err != nil {
						return nil, err
					}
					return faults.PodCIDROverlap{Node: b.Node, Pool: pool.String(), Image: b.ProbeImage, Namespace: traffic.Namespace}, nil
				},
				Breaks: func(Bed) func(traffic.Case) bool { return traffic.OnPath(traffic.PodToNodeNetworkHost) },
			},
		},
		Injected: "Flannel: a host route for half of worker2's podCIDR on worker, out of a veth. Calico: IPPool `netcert-fault-pool` over a /26 of the node network and a ReplicaSet whose pod is pinned to it (the pin is then dropped from its template)",
		Reasons:  "node addresses and routes, node podCIDRs, the Service CIDR, Flannel's network config; on Calico the IPPools, the IPAM blocks (Felix routes a block to its node, empty or not) and the pods' addresses",
		Repairs:  "delete the route or address when it is off the node's primary network; otherwise a manual plan. Calico: keep (or create) a valid pool, disable the overlapping one, recycle the pods a controller owns, release its emptied IPAM blocks, then delete it (Felix does not SNAT pods' traffic to any pool's range, disabled or not); pods without a controller, and pods whose controller's template or namespace pins them to the pool (`cni.projectcalico.org/ipv4pools`; a replacement would get no address), are listed, and their pool stays disabled",
	},
	{
		ID:      CalicoIPPoolExhausted,
		Problem: doctor.CalicoIPPoolExhausted{},
		NotOn:   map[string]string{"flannel": "Flannel has no IP pools: a node's pods get its lease (flannel-subnet-stale is its counterpart)"},
		Injectors: []Injector{{
			Variant:     "no-node-selected",
			New:         func(Bed) (faults.Fault, error) { return faults.CalicoIPPoolExhausted{}, nil },
			NewPodFails: true,
			Manual:      true,
		}},
		Injected: "every enabled IPPool given the nodeSelector `!all()` (the selector before kept in the annotation `netcert.io/node-selector-before-fault`), as a selector naming a label the nodes lack: running pods keep their addresses and routes, a new pod gets none. (Disabling the pools instead also broke running pods' traffic on Calico 3.28 in the test bed — ClusterIP, NodePort and full-MTU cases failed — so it is not this fault alone.)",
		Reasons:  "the IPPools (enabled, disabled, nodeSelector evaluated on the nodes' labels: all(), !all(), has(), ==, != and &&; other selectors count as selecting) and the addresses in use in their IPAM blocks: no enabled pool, a node no enabled pool selects, or enabled pools with no free address, is a Fail naming the pods waiting for their network; 95% in use is a Warn",
		Repairs:  "a manual plan: the `kubectl patch` that widens a pool's nodeSelector, enables a disabled pool (or the replacement a migration meant), or a new pool for a free range when the pools are full; netcert changes no pool",
	},
	{
		ID:      KubeProxyRulesMissing,
		Problem: doctor.KubeProxyRulesMissing{},
		Injectors: []Injector{{
			// The probe Service's chains flushed on the node: its pods no longer reach the
			// cluster IP (traffic-path-broken, a consequence).
			New: func(b Bed) (faults.Fault, error) {
				return faults.KubeProxyRulesMissing{Node: b.Node, Service: traffic.Namespace + "/" + traffic.ProbeService}, nil
			},
			Breaks:       func(b Bed) func(traffic.Case) bool { return traffic.FromNodeOnPath(b.Node, traffic.PodToClusterIP) },
			Consequences: []string{doctor.TrafficPathBroken{}.ID()},
			Portable:     true,
		}},
		Injected: "kube-proxy's chains of one Service flushed on a worker (`KUBE-SVC-…` in iptables mode, `service-…` of `table ip kube-proxy` in nftables mode); kube-proxy's partial syncs leave them so",
		Reasons:  "every Service's cluster IP, ports and ready endpoints (EndpointSlices) against each node's data plane: KUBE-SERVICES → KUBE-SVC/SVL → KUBE-SEP DNAT in iptables mode, the `service-ips` map and endpoint chains of `table ip kube-proxy` in nftables mode",
		Repairs:  "evict that node's kube-proxy pod (Eviction API; a PodDisruptionBudget refusal is an error), wait for its replacement's full sync and the rules to match",
	},
	{
		ID:      NodeResolvConfBroken,
		Problem: doctor.NodeResolvConfBroken{},
		Injectors: []Injector{{
			New: func(Bed) (faults.Fault, error) { return faults.NodeResolvConfBroken{}, nil },
			// CoreDNS's pods crash-loop: no name resolves, in the cluster or forwarded.
			Breaks: func(Bed) func(traffic.Case) bool { return traffic.OnPath(traffic.DNSClusterName, traffic.DNSTestZone) },
			Manual: true,
		}},
		Injected: "every node's `/etc/resolv.conf` emptied (as a configuration push gone wrong), with CoreDNS on kubeadm's `forward . /etc/resolv.conf`: its pods (DNS policy Default) get the empty file, CoreDNS exits with `plugin/forward: no nameservers found` and crash-loops. Hermetic: the files are emptied and CoreDNS restarted before the Corefile reads them, and the revert restores the Corefile first",
		Reasons:  "the file the kubelet gives pods of DNS policy Default on every node (its `--resolv-conf`, `resolvConf` of its config file, or /etc/resolv.conf): missing, no nameserver, or only loopback ones (a stub resolver's 127.0.0.53: CoreDNS itself in its pod, a loop); a Fail when CoreDNS forwards to `/etc/resolv.conf`, naming its pods on the node, their state and their last log line; a Warn otherwise (pods of DNS policy Default and the node itself have no resolver)",
		Repairs:  "a manual plan: the node's DNS servers back into the file (a healthy node's are shown), then CoreDNS restarted (its pods copied the file when they were set up); or CoreDNS given an upstream of its own. netcert does not guess a node's DNS servers",
	},
	{
		ID:      CoreDNSLoop,
		Problem: doctor.CoreDNSLoop{},
		Injectors: []Injector{{
			New: func(Bed) (faults.Fault, error) { return faults.CoreDNSLoop{}, nil },
			// Names CoreDNS forwards loop back into it; cluster names are answered between the
			// loop plugin's stops, so only the forwarded zone fails for certain.
			Breaks: func(Bed) func(traffic.Case) bool { return traffic.OnPath(traffic.DNSTestZone) },
		}},
		Injected: "CoreDNS's forward pointed at `127.0.0.1:53`, where each pod's CoreDNS itself listens, and its pods restarted: the loop plugin stops each, and they crash-loop",
		Reasons:  "the Corefile's forward targets against CoreDNS's own addresses (the kube-dns Service, its pods, loopback on port 53); the finding names the pods' state (CrashLoopBackOff, restarts); coredns-forward-broken leaves those targets to it",
		Repairs:  "coredns-forward-broken's: the forward of the last known-good Corefile (or `Upstream`) in place of the looping target, CoreDNS rolled and verified",
	},
	{
		ID:      CoreDNSForwardBroken,
		Problem: doctor.CoreDNSForwardBroken{},
		Injectors: []Injector{{
			New: func(b Bed) (faults.Fault, error) {
				if b.DeadService == "" {
					return nil, errors.New("coredns-forward-broken needs a Service nothing answers behind (the test bed's dead upstream)")
				}
				return faults.CoreDNSForwardBroken{DeadService: b.DeadService}, nil
			},
			// Names outside the cluster domain go to the dead upstream; cluster names still resolve.
			Breaks: func(Bed) func(traffic.Case) bool { return traffic.OnPath(traffic.DNSTestZone) },
		}},
		Injected: "CoreDNS's forward pointed at `netcert-system/dead-upstream`, a Service without endpoints",
		Reasons:  "the Corefile parsed as CoreDNS parses it, but hermetically by netcert's own parser (`kube/corefile`: no environment expansion, imported files recorded, never read); a real query to each forward target from the probe pod of every node",
		Repairs:  "the configured upstream, or the forward of the last known-good Corefile (kept in `kube-system/netcert-known-good-corefile` by `netcert snapshot` or the test bed's healthy baseline: the check itself writes nothing); CoreDNS rolled and verified",
	},
	{
		ID:      NetworkPolicyBlocks,
		Problem: doctor.NetworkPolicyBlocks{},
		NotOn:   map[string]string{"flannel": "Flannel enforces no NetworkPolicy: a policy denies nothing there, and network-policy-blocks says so (a Warn when policies exist): a fact of the certification"},
		Injectors: []Injector{{
			// Set b's pods admit set b's only: set a's pod of each node no longer reaches its
			// node's pod of set b, directly or through the same-node Service.
			New: func(Bed) (faults.Fault, error) {
				set := func(s string) map[string]string { return map[string]string{traffic.ProbeSetLabel: s} }
				return faults.NetworkPolicyBlocks{Namespace: traffic.Namespace, Isolate: set("b"), Admit: set("b")}, nil
			},
			Breaks: func(Bed) func(traffic.Case) bool {
				return traffic.OnPath(traffic.PodToPodSameNode, traffic.PodToServiceSameNode)
			},
			Manual: true,
		}},
		Injected: "NetworkPolicy `netcert-system/netcert-fault-isolate`: the probe pods of set b isolated for ingress, admitting set b's pods only (a default deny with an allow for an app's own pods)",
		Reasons:  "every NetworkPolicy against the flows of the probes' traffic matrix (pod to pod, and pod to each ready endpoint of a Service through its EndpointSlices) with the API's semantics: pod, namespace and ipBlock peers, ports by number, name and range, policy types; the finding names the policies that isolate the pods, the flows none admits, and their rules",
		Repairs:  "a manual plan: the `kubectl patch` that adds the admitting rule (the peers' namespace and stable labels, the flows' ports), or deleting the policy if nothing needs it; netcert does not change a policy",
	},
}

// forwardInjector is one shape of forward-policy-drop: the node forwards nothing of its pods'
// to or from other nodes (same-node and Service paths through it fail too, as consequences).
func forwardInjector(mode string, portable bool) Injector {
	return Injector{
		Variant:  mode,
		New:      func(b Bed) (faults.Fault, error) { return faults.ForwardPolicyDrop{Node: b.Node, Mode: mode}, nil },
		Breaks:   func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeVia(b.Node) },
		Portable: portable,
	}
}

// notInjectableConntrack is why conntrack-full has no feature on any CNI.
const notInjectableConntrack = "nf_conntrack_max is read-only inside a kind node (sysctl -w: Invalid argument), so the table cannot be filled on purpose; the check is proven by unit tests on real /proc output"

// notBrokenRPFilter is why rp-filter-strict's injector has no feature on either CNI.
const notBrokenRPFilter = "measured on kind (3 nodes, Flannel and Calico): with rp_filter=1 on all and on every interface of every node, all 42 cases of the core paths still pass — a single-NIC kind node takes its pods', its peers' and the overlay's packets on the interface its route back uses — and rp-filter-strict stays quiet there (Pass on Calico, 7–8 kinds of packet validated per node); `make kernel` proves the check, repair and injector on an asymmetric node in network namespaces"

// noPodBridge is why the faults of a pod bridge do not exist on Calico.
var noPodBridge = map[string]string{"calico": "Calico routes each pod's veth through the host: there is no pod bridge"}

// probePod is the test bed's probe pod of a set on the bed's broken node.
func probePod(b Bed, set string) faults.PodOnNode {
	return faults.PodOnNode{Node: b.Node, Namespace: traffic.Namespace, Selector: traffic.ProbeSelector + ",netcert.io/probe-set=" + set}
}

// overlayInjector is one shape of overlay-port-blocked: a rule on the node that drops the VXLAN
// packets reaching it, requests to its pods and the replies to its pods' requests alike.
func overlayInjector(mode string, notOn map[string]string) Injector {
	return Injector{
		Variant: mode,
		NotOn:   notOn,
		New: func(b Bed) (faults.Fault, error) {
			return faults.OverlayPortBlocked{Node: b.Node, Port: overlayPort[b.CNI], Mode: mode}, nil
		},
		Breaks:   func(b Bed) func(traffic.Case) bool { return traffic.CrossNodeVia(b.Node) },
		Portable: mode == faults.OverlayPortBlockedInputDrop,
	}
}
