package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ResolvConfPath is the resolver configuration DNS reads when no server is
// given.
const ResolvConfPath = "/etc/resolv.conf"

// ednsSize is the UDP payload size advertised in queries.
const ednsSize = 1232

// DNS sends one query of type qtype (such as "A" or "AAAA"; empty means "A")
// for name to server (IP or IP:PORT, port 53 by default). An empty server
// means the first nameserver of ResolvConfPath. The name is made fully
// qualified but is otherwise used as given: no search domains are applied.
// A truncated UDP answer is retried over TCP. The check succeeds when the
// answer has rcode NOERROR and at least one answer record; Detail lists the
// answer records separated by "; ".
func DNS(ctx context.Context, server, name, qtype string) Result {
	fqdn := dns.Fqdn(name)
	res := newResult(KindDNS, fqdn)
	start := time.Now()
	detail, err := dnsQuery(ctx, server, fqdn, qtype)
	return res.finish(start, detail, err)
}

// ParseQType returns the DNS type named by s, case-insensitively; empty
// means A.
func ParseQType(s string) (uint16, error) {
	if s == "" {
		return dns.TypeA, nil
	}
	t, ok := dns.StringToType[strings.ToUpper(s)]
	if !ok {
		return 0, fmt.Errorf("unknown query type %q", s)
	}
	return t, nil
}

// SystemServer returns the first nameserver listed in the resolv.conf file at
// path, as IP:PORT.
func SystemServer(path string) (string, error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return "", fmt.Errorf("read resolver config: %w", err)
	}
	if len(cfg.Servers) == 0 {
		return "", fmt.Errorf("read resolver config %s: no nameserver", path)
	}
	port := cfg.Port
	if port == "" {
		port = "53"
	}
	return net.JoinHostPort(cfg.Servers[0], port), nil
}

// NormalizeServer returns server as HOST:PORT, adding port 53 when server
// names only a host. An empty server yields the first nameserver of
// ResolvConfPath.
func NormalizeServer(server string) (string, error) {
	if server == "" {
		return SystemServer(ResolvConfPath)
	}
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server, nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
	if host == "" || strings.ContainsAny(host, "[]") {
		return "", fmt.Errorf("invalid dns server %q", server)
	}
	return net.JoinHostPort(host, "53"), nil
}

// dnsQuery performs the exchange behind DNS and returns the answers.
func dnsQuery(ctx context.Context, server, fqdn, qtype string) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	t, err := ParseQType(qtype)
	if err != nil {
		return "", err
	}
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return "", fmt.Errorf("invalid name %q", fqdn)
	}
	addr, err := NormalizeServer(server)
	if err != nil {
		return "", err
	}
	msg := new(dns.Msg)
	msg.SetQuestion(fqdn, t)
	msg.SetEdns0(ednsSize, false)

	resp, err := exchange(ctx, "udp", msg, addr)
	if err == nil && resp.Truncated {
		resp, err = exchange(ctx, "tcp", msg, addr)
	}
	what := fmt.Sprintf("query %s %s via %s", fqdn, dns.TypeToString[t], addr)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, withCtxErr(ctx, err))
	}
	detail := formatAnswers(resp.Answer)
	if resp.Rcode != dns.RcodeSuccess {
		return detail, fmt.Errorf("%s: rcode %s", what, dns.RcodeToString[resp.Rcode])
	}
	if len(resp.Answer) == 0 {
		return detail, fmt.Errorf("%s: no answer records", what)
	}
	return detail, nil
}

// exchange sends msg to addr over network, bounded by ctx.
func exchange(ctx context.Context, network string, msg *dns.Msg, addr string) (*dns.Msg, error) {
	client := &dns.Client{Net: network, Timeout: DefaultTimeout}
	if dl, ok := ctx.Deadline(); ok {
		client.Timeout = time.Until(dl)
		if client.Timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	resp, _, err := client.ExchangeContext(ctx, msg, addr)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, errors.New("empty response")
	}
	return resp, nil
}

// formatAnswers renders answer records on one line.
func formatAnswers(rrs []dns.RR) string {
	parts := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		parts = append(parts, strings.Join(strings.Fields(rr.String()), " "))
	}
	return strings.Join(parts, "; ")
}
