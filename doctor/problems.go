package doctor

// Problems are every check with its repair, with default settings: what the CLI runs, and what
// every fault suite runs in every feature, so that a fault is named by its own check and by no
// other. They come in causal order: node-level causes first, then the cluster-level checks whose
// failures such causes explain (a CoreDNS upstream that does not answer), then the traffic over
// the core paths; a repair loop repairs the first root cause first.
func Problems() []Problem {
	return []Problem{
		IPForwardOff{},
		BridgeNFCallOff{},
		RPFilterStrict{},
		CNIBridgeDown{},
		CNIBridgeWrongAddress{},
		FlannelSubnetStale{},
		VethDetached{},
		HairpinOff{},
		MTUMismatch{},
		ConntrackFull{},
		ForwardPolicyDrop{},
		OverlayPortBlocked{},
		PodCIDROverlap{},
		CalicoIPPoolExhausted{},
		KubeProxyRulesMissing{},
		NodeResolvConfBroken{},
		CoreDNSLoop{},
		CoreDNSForwardBroken{},
		NetworkPolicyBlocks{},
		TrafficPathBroken{},
	}
}

// Checks returns the checks of problems.
func Checks(problems []Problem) []Check {
	out := make([]Check, len(problems))
	for i, p := range problems {
		out[i] = p
	}
	return out
}
