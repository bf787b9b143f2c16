package dnsupstream_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/dnsupstream"
)

// startUpstream serves h on a loopback port for the test's lifetime and
// checks that it shuts down cleanly.
func startUpstream(t *testing.T, h *dnsupstream.Handler) string {
	t.Helper()
	srv, err := dnsupstream.Listen("127.0.0.1:0", h)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return srv.Addr()
}

func TestServerAnswersOverUDPAndTCP(t *testing.T) {
	addr := startUpstream(t, newTestHandler(t))
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			c := &dns.Client{Net: network, Timeout: 2 * time.Second}
			resp, _, err := c.Exchange(query("probe.netcert.test.", dns.TypeA), addr)
			require.NoError(t, err)
			assert.Equal(t, dns.RcodeSuccess, resp.Rcode)
			assert.Equal(t, []string{"127.0.0.1"}, aValues(resp.Answer))

			refused, _, err := c.Exchange(query("example.com.", dns.TypeA), addr)
			require.NoError(t, err)
			assert.Equal(t, dns.RcodeRefused, refused.Rcode)
		})
	}
}

func TestServerLogsQueries(t *testing.T) {
	lines := make(chan string, 10)
	h := newTestHandler(t, dnsupstream.WithLogf(func(format string, args ...any) {
		lines <- fmt.Sprintf(format, args...)
	}))
	addr := startUpstream(t, h)
	c := &dns.Client{Timeout: 2 * time.Second}
	_, _, err := c.Exchange(query("probe.netcert.test.", dns.TypeA), addr)
	require.NoError(t, err)
	select {
	case line := <-lines:
		assert.Contains(t, line, "probe.netcert.test. A -> NOERROR, 1 answers")
	case <-time.After(2 * time.Second):
		t.Fatal("no log line")
	}
}

func TestServerSilentNeverAnswers(t *testing.T) {
	addr := startUpstream(t, newTestHandler(t, dnsupstream.WithSilent(true)))
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	_, _, err := c.Exchange(query("probe.netcert.test.", dns.TypeA), addr)
	assert.Error(t, err)
}

func TestServerTruncatesLargeUDPAnswers(t *testing.T) {
	var records []dnsupstream.Record
	for i := range 60 {
		records = append(records, mustRecord(t, "big.netcert.test=10.0.0."+strconv.Itoa(i+1)))
	}
	h, err := dnsupstream.New("netcert.test.", records)
	require.NoError(t, err)
	addr := startUpstream(t, h)

	udp := &dns.Client{Timeout: 2 * time.Second}
	resp, _, err := udp.Exchange(query("big.netcert.test.", dns.TypeA), addr)
	require.NoError(t, err)
	assert.True(t, resp.Truncated)

	tcp := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	full, _, err := tcp.Exchange(query("big.netcert.test.", dns.TypeA), addr)
	require.NoError(t, err)
	assert.False(t, full.Truncated)
	assert.Len(t, full.Answer, 60)
}

func TestListenErrors(t *testing.T) {
	_, err := dnsupstream.Listen("127.0.0.1:0", nil)
	assert.Error(t, err)
	_, err = dnsupstream.Listen("no-port", newTestHandler(t))
	assert.Error(t, err)
}
