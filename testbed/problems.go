package testbed

import "github.com/netcert/netcert/doctor"

// Problems are the checks and repairs every fault suite proves; every check runs in every
// feature, so a fault must be named by its own check and by no other.
func Problems() []doctor.Problem {
	return []doctor.Problem{
		doctor.IPForwardOff{},
		doctor.OverlayPortBlocked{},
		doctor.PodCIDROverlap{},
		doctor.CoreDNSForwardBroken{},
	}
}

// Checks returns the checks of problems.
func Checks(problems []doctor.Problem) []doctor.Check {
	out := make([]doctor.Check, len(problems))
	for i, p := range problems {
		out[i] = p
	}
	return out
}
