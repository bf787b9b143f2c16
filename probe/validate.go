package probe

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/miekg/dns"
)

// ValidateURL checks that target is an absolute http or https URL with a
// host.
func ValidateURL(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("invalid url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid url %q: scheme must be http or https", target)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid url %q: missing host", target)
	}
	return nil
}

// ValidateHostPort checks that addr is HOST:PORT with a non-empty host and
// a port between 1 and 65535.
func ValidateHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("invalid address %q: missing host", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("invalid address %q: port must be 1-65535", addr)
	}
	return nil
}

// ValidateName checks that name is a syntactically valid DNS name.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("invalid dns name: empty")
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return fmt.Errorf("invalid dns name %q", name)
	}
	return nil
}
