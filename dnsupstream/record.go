package dnsupstream

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Record is one A record served by the zone.
type Record struct {
	// Name is the owner name, such as "probe.netcert.test.".
	Name string
	// IP is the IPv4 address answered for Name.
	IP netip.Addr
}

// String returns the record in the NAME=IPv4 form ParseRecord accepts.
func (r Record) String() string {
	return r.Name + "=" + r.IP.String()
}

// ParseRecord parses NAME=IPv4, such as "probe.netcert.test.=127.0.0.1".
// The name is made fully qualified and lower case.
func ParseRecord(s string) (Record, error) {
	name, ip, ok := strings.Cut(s, "=")
	name, ip = strings.TrimSpace(name), strings.TrimSpace(ip)
	if !ok || name == "" || ip == "" {
		return Record{}, fmt.Errorf("parse record %q: want NAME=IPv4", s)
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return Record{}, fmt.Errorf("parse record %q: %w", s, err)
	}
	r := Record{Name: dns.CanonicalName(name), IP: addr.Unmap()}
	if err := r.validate(); err != nil {
		return Record{}, fmt.Errorf("parse record %q: %w", s, err)
	}
	return r, nil
}

// validate checks that r has a valid name and an IPv4 address.
func (r Record) validate() error {
	if _, ok := dns.IsDomainName(r.Name); !ok || r.Name == "" {
		return fmt.Errorf("invalid name %q", r.Name)
	}
	if !r.IP.Unmap().Is4() {
		return fmt.Errorf("%s is not an IPv4 address", r.IP)
	}
	return nil
}
