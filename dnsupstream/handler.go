package dnsupstream

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// TTL is the time to live, in seconds, of every record served.
const TTL = 30

// ednsSize is the UDP payload size advertised in replies to EDNS queries.
const ednsSize = 1232

// Handler answers queries for one zone. It implements dns.Handler.
type Handler struct {
	zone    string
	records map[string][]netip.Addr
	silent  bool
	logf    func(format string, args ...any)
}

// Option changes how a Handler behaves.
type Option func(*Handler)

// WithSilent makes the Handler accept queries and never answer them, like a
// dead upstream.
func WithSilent(silent bool) Option {
	return func(h *Handler) { h.silent = silent }
}

// WithLogf makes the Handler log one line per query with logf.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(h *Handler) { h.logf = logf }
}

// New returns a Handler for zone serving records. Every record must lie in
// the zone; a name given several times answers all its addresses.
func New(zone string, records []Record, opts ...Option) (*Handler, error) {
	zone = dns.CanonicalName(zone)
	if _, ok := dns.IsDomainName(zone); !ok {
		return nil, fmt.Errorf("new handler: invalid zone %q", zone)
	}
	h := &Handler{zone: zone, records: make(map[string][]netip.Addr)}
	for _, r := range records {
		r.Name = dns.CanonicalName(r.Name)
		r.IP = r.IP.Unmap()
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("new handler: record %s: %w", r, err)
		}
		if !dns.IsSubDomain(zone, r.Name) {
			return nil, fmt.Errorf("new handler: record %s is outside zone %s", r, zone)
		}
		h.records[r.Name] = append(h.records[r.Name], r.IP)
	}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Zone returns the canonical zone name.
func (h *Handler) Zone() string { return h.zone }

// ServeDNS answers req on w, or stays silent in silent mode.
func (h *Handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := h.Answer(req)
	h.log(w.RemoteAddr(), req, resp)
	if resp == nil {
		return
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(min(opt.UDPSize(), ednsSize))
		}
		resp.Truncate(size)
	}
	_ = w.WriteMsg(resp)
}

// Answer returns the reply to req, or nil in silent mode.
func (h *Handler) Answer(req *dns.Msg) *dns.Msg {
	if h.silent {
		return nil
	}
	resp := h.answer(req)
	if req.IsEdns0() != nil {
		resp.SetEdns0(ednsSize, false)
	}
	return resp
}

// answer builds the reply to req, without EDNS.
func (h *Handler) answer(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	if len(req.Question) != 1 {
		return resp.SetRcode(req, dns.RcodeFormatError)
	}
	if req.Opcode != dns.OpcodeQuery {
		return resp.SetRcode(req, dns.RcodeNotImplemented)
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	if (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) || !dns.IsSubDomain(h.zone, name) {
		return resp.SetRcode(req, dns.RcodeRefused)
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.Answer = h.lookup(q, name)
	if len(resp.Answer) > 0 {
		return resp
	}
	if !h.exists(name) {
		resp.Rcode = dns.RcodeNameError
	}
	resp.Ns = []dns.RR{h.soa()}
	return resp
}

// lookup returns the records answering q for the canonical name.
func (h *Handler) lookup(q dns.Question, name string) []dns.RR {
	var rrs []dns.RR
	apex := name == h.zone
	if apex && (q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY) {
		rrs = append(rrs, h.soa())
	}
	if apex && (q.Qtype == dns.TypeNS || q.Qtype == dns.TypeANY) {
		rrs = append(rrs, &dns.NS{Hdr: h.header(h.zone, dns.TypeNS), Ns: h.nsName()})
	}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		for _, ip := range h.records[name] {
			rrs = append(rrs, &dns.A{Hdr: h.header(q.Name, dns.TypeA), A: net.IP(ip.AsSlice())})
		}
	}
	return rrs
}

// exists reports whether name owns records or has descendants that do, so
// that an empty answer for it is NODATA rather than NXDOMAIN.
func (h *Handler) exists(name string) bool {
	if name == h.zone || name == h.nsName() {
		return true
	}
	for owner := range h.records {
		if dns.IsSubDomain(name, owner) {
			return true
		}
	}
	return false
}

// soa returns the zone's SOA record.
func (h *Handler) soa() dns.RR {
	return &dns.SOA{
		Hdr:     h.header(h.zone, dns.TypeSOA),
		Ns:      h.nsName(),
		Mbox:    "hostmaster." + h.zone,
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  TTL,
	}
}

// nsName is the name server the SOA and NS records point at.
func (h *Handler) nsName() string {
	if h.zone == "." {
		return "ns."
	}
	return "ns." + h.zone
}

// header returns an IN record header for name and rrtype.
func (h *Handler) header(name string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: TTL}
}

// log writes one line about a query when logging is enabled.
func (h *Handler) log(from net.Addr, req, resp *dns.Msg) {
	if h.logf == nil {
		return
	}
	q := "(no question)"
	if len(req.Question) > 0 {
		q = req.Question[0].Name + " " + dns.TypeToString[req.Question[0].Qtype]
	}
	outcome := "no reply (silent)"
	if resp != nil {
		outcome = fmt.Sprintf("%s, %d answers", dns.RcodeToString[resp.Rcode], len(resp.Answer))
	}
	h.logf("query from %s/%s: %s -> %s", from.Network(), from, q, outcome)
}
