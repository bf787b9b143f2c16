package probe_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/dnsupstream"
	"github.com/netcert/netcert/probe"
)

// startDNS serves the netcert.test. zone on loopback for the test's lifetime.
func startDNS(t *testing.T, opts ...dnsupstream.Option) string {
	t.Helper()
	rec, err := dnsupstream.ParseRecord("probe.netcert.test.=127.0.0.1")
	require.NoError(t, err)
	h, err := dnsupstream.New("netcert.test.", []dnsupstream.Record{rec}, opts...)
	require.NoError(t, err)
	srv, err := dnsupstream.Listen("127.0.0.1:0", h)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return srv.Addr()
}

func TestDNSAnswer(t *testing.T) {
	server := startDNS(t)
	res := probe.DNS(shortCtx(t, 3*time.Second), server, "probe.netcert.test", "A")
	require.True(t, res.OK, res.Error)
	assert.Equal(t, probe.KindDNS, res.Kind)
	assert.Equal(t, "probe.netcert.test.", res.Target, "name is made fully qualified")
	assert.Equal(t, "probe.netcert.test. 30 IN A 127.0.0.1", res.Detail)
	assert.Empty(t, res.Error)
}

func TestDNSDefaultTypeIsA(t *testing.T) {
	res := probe.DNS(shortCtx(t, 3*time.Second), startDNS(t), "probe.netcert.test.", "")
	assert.True(t, res.OK, res.Error)
}

func TestDNSFailures(t *testing.T) {
	server := startDNS(t)
	cases := map[string]struct {
		name, qtype, want string
	}{
		"outside zone":  {"example.com", "A", "rcode REFUSED"},
		"nxdomain":      {"missing.netcert.test", "A", "rcode NXDOMAIN"},
		"no records":    {"probe.netcert.test", "aaaa", "no answer records"},
		"unknown qtype": {"probe.netcert.test", "BOGUS", "unknown query type"},
		"bad name":      {"a..b", "A", "invalid name"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res := probe.DNS(shortCtx(t, 3*time.Second), server, c.name, c.qtype)
			assert.False(t, res.OK)
			assert.Contains(t, res.Error, c.want)
		})
	}
}

func TestDNSSilentUpstreamTimesOut(t *testing.T) {
	server := startDNS(t, dnsupstream.WithSilent(true))
	res := probe.DNS(shortCtx(t, 300*time.Millisecond), server, "probe.netcert.test", "A")
	assert.False(t, res.OK)
	assert.Contains(t, res.Error, "timeout", "it gave up at the context's deadline")
}

func TestDNSNothingListening(t *testing.T) {
	res := probe.DNS(shortCtx(t, time.Second), closedUDPAddr(t), "probe.netcert.test", "A")
	assert.False(t, res.OK)
	assert.NotEmpty(t, res.Error)
}

func TestSystemServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resolv.conf")
	require.NoError(t, os.WriteFile(path, []byte("search default.svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n"), 0o600))
	server, err := probe.SystemServer(path)
	require.NoError(t, err)
	assert.Equal(t, "10.96.0.10:53", server)

	empty := filepath.Join(dir, "empty.conf")
	require.NoError(t, os.WriteFile(empty, []byte("search x\n"), 0o600))
	_, err = probe.SystemServer(empty)
	assert.Error(t, err)

	_, err = probe.SystemServer(filepath.Join(dir, "missing"))
	assert.Error(t, err)
}

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"10.96.0.10":      "10.96.0.10:53",
		"10.96.0.10:5353": "10.96.0.10:5353",
		"fd00::a":         "[fd00::a]:53",
		"[fd00::a]":       "[fd00::a]:53",
		"[fd00::a]:54":    "[fd00::a]:54",
	} {
		got, err := probe.NormalizeServer(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := probe.NormalizeServer("[[x]")
	assert.Error(t, err)
}

func TestValidators(t *testing.T) {
	assert.NoError(t, probe.ValidateURL("http://10.0.0.1:8080/"))
	assert.NoError(t, probe.ValidateURL("https://svc.ns.svc.cluster.local"))
	for _, bad := range []string{"", "10.0.0.1:8080", "ftp://x/", "http://", "http://%zz"} {
		assert.Error(t, probe.ValidateURL(bad), bad)
	}

	assert.NoError(t, probe.ValidateHostPort("10.0.0.1:8081"))
	assert.NoError(t, probe.ValidateHostPort("[fd00::1]:8081"))
	assert.NoError(t, probe.ValidateHostPort("svc.ns:53"))
	for _, bad := range []string{"", "10.0.0.1", ":8081", "h:0", "h:65536", "h:http"} {
		assert.Error(t, probe.ValidateHostPort(bad), bad)
	}

	assert.NoError(t, probe.ValidateName("kubernetes.default.svc.cluster.local"))
	assert.NoError(t, probe.ValidateName("probe.netcert.test."))
	for _, bad := range []string{"", "a..b"} {
		assert.Error(t, probe.ValidateName(bad), bad)
	}
}
