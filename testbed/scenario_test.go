package testbed

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/netcert/netcert/doctor"
)

// The baseline and verify steps leave only traffic-path-broken to the traffic matrix they send.
func TestStateChecksAreEveryCheckButTheTraffic(t *testing.T) {
	assert.Len(t, stateChecks, len(checks)-1)
	for _, ch := range stateChecks {
		assert.NotEqual(t, doctor.TrafficPathBroken{}.ID(), ch.ID())
	}
}
