package probe_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/probe"
)

func TestResultJSONFieldNames(t *testing.T) {
	r := probe.Result{Kind: probe.KindTCP, Target: "10.0.0.1:8081", OK: true, LatencyMS: 1.5, Detail: "x"}
	line, err := r.Marshal()
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(line, &fields))
	assert.Equal(t, map[string]any{
		"kind": "tcp", "target": "10.0.0.1:8081", "ok": true,
		"latency_ms": 1.5, "detail": "x", "error": "",
	}, fields)
	assert.NotContains(t, string(line), "\n")
}

func TestParseResultRoundTrip(t *testing.T) {
	want := probe.Result{Kind: probe.KindDNS, Target: "a.b.", OK: false, LatencyMS: 12.25, Error: "rcode NXDOMAIN"}
	line, err := want.Marshal()
	require.NoError(t, err)

	got, err := probe.ParseResult(append(line, '\n'))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, 12250*time.Microsecond, got.Latency())
	assert.EqualError(t, got.Err(), "dns a.b.: rcode NXDOMAIN")
}

func TestParseResultUsesLastLine(t *testing.T) {
	got, err := probe.ParseResult([]byte("noise\n{\"kind\":\"udp\",\"target\":\"x:1\",\"ok\":true}\n\n"))
	require.NoError(t, err)
	assert.Equal(t, probe.KindUDP, got.Kind)
	assert.True(t, got.OK)
	assert.NoError(t, got.Err())
}

func TestParseResultErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":        "  \n",
		"not json":     "connection refused",
		"unknown kind": `{"kind":"icmp","ok":true}`,
		"missing kind": `{"ok":true}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := probe.ParseResult([]byte(in))
			assert.Error(t, err)
		})
	}
}

func TestRepeatStopsAtFirstSuccess(t *testing.T) {
	calls := 0
	res := probe.Repeat(context.Background(), 5, time.Second, time.Millisecond, func(ctx context.Context) probe.Result {
		calls++
		_, hasDeadline := ctx.Deadline()
		assert.True(t, hasDeadline, "each attempt gets a deadline")
		return probe.Result{Kind: probe.KindTCP, OK: calls == 2}
	})
	assert.True(t, res.OK)
	assert.Equal(t, 2, calls)
}

func TestRepeatReportsLastFailure(t *testing.T) {
	calls := 0
	res := probe.Repeat(context.Background(), 3, time.Second, time.Millisecond, func(context.Context) probe.Result {
		calls++
		return probe.Result{Kind: probe.KindTCP, Error: "refused"}
	})
	assert.False(t, res.OK)
	assert.Equal(t, 3, calls)
	assert.Equal(t, "attempt 3 of 3: refused", res.Error)
}

func TestRepeatSingleAttemptKeepsError(t *testing.T) {
	res := probe.Repeat(context.Background(), 0, 0, 0, func(context.Context) probe.Result {
		return probe.Result{Kind: probe.KindUDP, Error: "timeout"}
	})
	assert.Equal(t, "timeout", res.Error)
}

func TestRepeatStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	res := probe.Repeat(ctx, 10, time.Second, time.Hour, func(context.Context) probe.Result {
		calls++
		cancel()
		return probe.Result{Kind: probe.KindHTTP, Error: "boom"}
	})
	assert.False(t, res.OK)
	assert.Equal(t, 1, calls)
}

func TestMarshalKeepsArrowsReadable(t *testing.T) {
	line, err := probe.Result{Kind: probe.KindUDP, Error: "read udp a->b: refused"}.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(line), "a->b")
}
