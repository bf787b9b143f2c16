package doctor

// Problems are every check with its repair, with default settings: what the CLI runs, and what
// every fault suite runs in every feature, so that a fault is named by its own check and by no other.
func Problems() []Problem {
	return []Problem{
		IPForwardOff{},
		OverlayPortBlocked{},
		PodCIDROverlap{},
		CoreDNSForwardBroken{},
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
