package testbed

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/reports"
)

// capture is a TestingT that keeps what testify reports.
type capture struct{ msgs []string }

func (c *capture) Errorf(format string, args ...any) {
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
}

func TestFailureTextKeepsWhatTestifySaid(t *testing.T) {
	var c capture
	assert.False(&c, true, "%s should fail under %s", "w1 -> w2 http", "ip-forward-off")
	assert.Equal(&c, "a\nb", "a\nc")
	require.Len(t, c.msgs, 2)
	assert.Equal(t, "Should be false\nw1 -> w2 http should fail under ip-forward-off", failureText(c.msgs[0]))
	assert.Contains(t, failureText(c.msgs[1]), "Not equal:")
	assert.NotContains(t, failureText(c.msgs[1]), "Error Trace")
	assert.Equal(t, "plain message", failureText("  plain message\n"))
}

func TestStepRecordsOutcomeAndDuration(t *testing.T) {
	c := New(Config{Name: "netcert-unit", CNI: "flannel", Logf: t.Logf})
	c.rec.StartCase(reports.Case{ID: "ip-forward-off", Fault: "ip-forward-off"})
	name, step := c.Step("ip-forward-off", "baseline", func(ctx context.Context, t T, _ *envconf.Config) context.Context {
		t.Logf("a step that passes")
		return ctx
	})
	assert.Equal(t, "baseline", name)
	step(context.Background(), t, nil)
	c.RecordDetection("ip-forward-off", 8700*time.Millisecond, nil)
	got := c.rec.Run().Cases["ip-forward-off"]
	require.Len(t, got.Steps, 1)
	assert.Equal(t, reports.Passed, got.Steps[0].Outcome)
	assert.Equal(t, reports.Passed, got.Outcome)
	assert.Equal(t, int64(8700), *got.TimeToDetectMS)
	assert.Equal(t, "unit", c.rec.Run().Suite)
}

func TestImageTag(t *testing.T) {
	assert.Equal(t, "v3.28.5", imageTag("docker.io/calico/node:v3.28.5"))
	assert.Equal(t, "latest", imageTag("localhost:5000/flannel"))
}
