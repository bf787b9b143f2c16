package dnsupstream_test

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/dnsupstream"
)

// newTestHandler returns a handler for netcert.test. with a few records.
func newTestHandler(t *testing.T, opts ...dnsupstream.Option) *dnsupstream.Handler {
	t.Helper()
	h, err := dnsupstream.New("NetCert.Test", []dnsupstream.Record{
		mustRecord(t, "probe.netcert.test.=127.0.0.1"),
		mustRecord(t, "multi.netcert.test=10.0.0.1"),
		mustRecord(t, "multi.netcert.test=10.0.0.2"),
		mustRecord(t, "deep.sub.netcert.test=10.0.0.3"),
	}, opts...)
	require.NoError(t, err)
	return h
}

// mustRecord parses a NAME=IPv4 record.
func mustRecord(t *testing.T, s string) dnsupstream.Record {
	t.Helper()
	r, err := dnsupstream.ParseRecord(s)
	require.NoError(t, err)
	return r
}

// query builds a query for name and qtype.
func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// aValues returns the addresses of the A records in rrs.
func aValues(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func TestAnswerARecord(t *testing.T) {
	h := newTestHandler(t)
	req := query("probe.netcert.test.", dns.TypeA)
	resp := h.Answer(req)
	require.NotNil(t, resp)
	assert.Equal(t, req.Id, resp.Id)
	assert.True(t, resp.Response)
	assert.True(t, resp.Authoritative)
	assert.Equal(t, dns.RcodeSuccess, resp.Rcode)
	require.Len(t, resp.Answer, 1)
	assert.Equal(t, []string{"127.0.0.1"}, aValues(resp.Answer))
	assert.Equal(t, uint32(dnsupstream.TTL), resp.Answer[0].Header().Ttl)
	assert.Equal(t, "probe.netcert.test.", resp.Answer[0].Header().Name)
}

func TestAnswerIsCaseInsensitive(t *testing.T) {
	resp := newTestHandler(t).Answer(query("PROBE.NetCert.test.", dns.TypeA))
	require.NotNil(t, resp)
	assert.Equal(t, []string{"127.0.0.1"}, aValues(resp.Answer))
	assert.Equal(t, "PROBE.NetCert.test.", resp.Answer[0].Header().Name, "owner name keeps the query's case")
}

func TestAnswerRepeatedName(t *testing.T) {
	resp := newTestHandler(t).Answer(query("multi.netcert.test.", dns.TypeA))
	require.NotNil(t, resp)
	assert.ElementsMatch(t, []string{"10.0.0.1", "10.0.0.2"}, aValues(resp.Answer))
}

func TestAnswerNXDOMAIN(t *testing.T) {
	resp := newTestHandler(t).Answer(query("missing.netcert.test.", dns.TypeA))
	require.NotNil(t, resp)
	assert.Equal(t, dns.RcodeNameError, resp.Rcode)
	assert.True(t, resp.Authoritative)
	assert.Empty(t, resp.Answer)
	require.Len(t, resp.Ns, 1)
	soa, ok := resp.Ns[0].(*dns.SOA)
	require.True(t, ok, "authority holds the SOA")
	assert.Equal(t, "netcert.test.", soa.Hdr.Name)
}

func TestAnswerNODATA(t *testing.T) {
	h := newTestHandler(t)
	for name, q := range map[string]*dns.Msg{
		"other type":         query("probe.netcert.test.", dns.TypeAAAA),
		"empty non-terminal": query("sub.netcert.test.", dns.TypeA),
		"apex A":             query("netcert.test.", dns.TypeA),
	} {
		t.Run(name, func(t *testing.T) {
			resp := h.Answer(q)
			require.NotNil(t, resp)
			assert.Equal(t, dns.RcodeSuccess, resp.Rcode)
			assert.Empty(t, resp.Answer)
			require.Len(t, resp.Ns, 1)
			assert.IsType(t, &dns.SOA{}, resp.Ns[0])
		})
	}
}

func TestAnswerApex(t *testing.T) {
	h := newTestHandler(t)

	soa := h.Answer(query("netcert.test.", dns.TypeSOA))
	require.NotNil(t, soa)
	require.Len(t, soa.Answer, 1)
	assert.IsType(t, &dns.SOA{}, soa.Answer[0])
	assert.True(t, soa.Authoritative)

	ns := h.Answer(query("netcert.test.", dns.TypeNS))
	require.NotNil(t, ns)
	require.Len(t, ns.Answer, 1)
	rr, ok := ns.Answer[0].(*dns.NS)
	require.True(t, ok)
	assert.Equal(t, "ns.netcert.test.", rr.Ns)
}

func TestAnswerOutsideZoneRefused(t *testing.T) {
	h := newTestHandler(t)
	for _, name := range []string{"example.com.", "test.", ".", "xnetcert.test."} {
		t.Run(name, func(t *testing.T) {
			resp := h.Answer(query(name, dns.TypeA))
			require.NotNil(t, resp)
			assert.Equal(t, dns.RcodeRefused, resp.Rcode)
			assert.False(t, resp.Authoritative)
			assert.Empty(t, resp.Answer)
		})
	}
}

func TestAnswerChaosRefused(t *testing.T) {
	req := query("probe.netcert.test.", dns.TypeTXT)
	req.Question[0].Qclass = dns.ClassCHAOS
	resp := newTestHandler(t).Answer(req)
	require.NotNil(t, resp)
	assert.Equal(t, dns.RcodeRefused, resp.Rcode)
}

func TestAnswerEDNS(t *testing.T) {
	req := query("probe.netcert.test.", dns.TypeA)
	req.SetEdns0(4096, false)
	resp := newTestHandler(t).Answer(req)
	require.NotNil(t, resp)
	assert.NotNil(t, resp.IsEdns0(), "EDNS query gets an OPT record back")

	plain := newTestHandler(t).Answer(query("probe.netcert.test.", dns.TypeA))
	assert.Nil(t, plain.IsEdns0())
}

func TestAnswerSilent(t *testing.T) {
	h := newTestHandler(t, dnsupstream.WithSilent(true))
	assert.Nil(t, h.Answer(query("probe.netcert.test.", dns.TypeA)))
}

func TestNewValidates(t *testing.T) {
	v4 := netip.MustParseAddr("10.1.2.3")
	v6 := netip.MustParseAddr("fd00::1")
	cases := map[string]struct {
		zone    string
		records []dnsupstream.Record
	}{
		"record outside zone": {"netcert.test.", []dnsupstream.Record{{Name: "example.com.", IP: v4}}},
		"ipv6 record":         {"netcert.test.", []dnsupstream.Record{{Name: "a.netcert.test.", IP: v6}}},
		"missing address":     {"netcert.test.", []dnsupstream.Record{{Name: "a.netcert.test."}}},
		"bad zone":            {"bad..zone", nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := dnsupstream.New(c.zone, c.records)
			assert.Error(t, err)
		})
	}
	h, err := dnsupstream.New("netcert.test", nil)
	require.NoError(t, err)
	assert.Equal(t, "netcert.test.", h.Zone())
}

func TestParseRecord(t *testing.T) {
	r, err := dnsupstream.ParseRecord(" Probe.NetCert.Test = 127.0.0.1 ")
	require.NoError(t, err)
	assert.Equal(t, "probe.netcert.test.", r.Name)
	assert.Equal(t, netip.MustParseAddr("127.0.0.1"), r.IP)
	assert.Equal(t, "probe.netcert.test.=127.0.0.1", r.String())

	mapped, err := dnsupstream.ParseRecord("a.netcert.test=::ffff:10.0.0.1")
	require.NoError(t, err)
	assert.True(t, mapped.IP.Is4())

	for _, bad := range []string{"", "name", "=1.2.3.4", "a.test=", "a.test=not-an-ip", "a.test=fd00::1"} {
		_, err := dnsupstream.ParseRecord(bad)
		assert.Error(t, err, bad)
	}
}
