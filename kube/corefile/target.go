package corefile

import (
	"fmt"
	"net"
	"strings"
)

// Target is one TO of a forward directive, read the way CoreDNS reads it.
type Target struct {
	Raw       string // as written, e.g. "dns://10.96.0.10", "10.96.0.10:5353", "/etc/resolv.conf"
	Transport string // "dns", "tls", …; empty for an environment placeholder
	Address   string // IP:port (port 53 for dns, 853 for tls, by default); empty for a file
	// File is a resolv.conf-style file whose nameservers CoreDNS uses: in the CoreDNS pod, whose
	// DNS policy is Default, /etc/resolv.conf holds the node's resolvers.
	File string
	// EnvPlaceholder: Raw holds an environment placeholder ({$VAR} or {%VAR%}) that CoreDNS fills
	// in from its pod's environment, which netcert can neither read nor probe.
	EnvPlaceholder bool
}

// Probeable reports whether netcert can send the target a plain DNS query.
func (t Target) Probeable() bool { return t.Transport == "dns" && t.Address != "" }

// String names the target as findings show it: its address, or the file it stands for, or else
// the target as written.
func (t Target) String() string {
	switch {
	case t.File != "":
		return t.File
	case t.Transport != "dns" && t.Address != "":
		return t.Transport + "://" + t.Address
	case t.Address != "":
		return t.Address
	}
	return t.Raw
}

// ParseTarget reads a TO as CoreDNS's forward does (parse.HostPortOrFile, then only the dns and tls
// transports): [scheme://]IP[:port], or else the path of a resolv.conf-style file. A TO holding an
// environment placeholder is known only inside the CoreDNS pod.
func ParseTarget(raw string) (Target, error) {
	if hasEnvPlaceholder(raw) {
		return Target{Raw: raw, EnvPlaceholder: true}, nil
	}
	t := Target{Raw: raw, Transport: "dns"}
	host := raw
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		t.Transport, host = scheme, rest
	}
	port, ok := map[string]string{"dns": "53", "tls": "853"}[t.Transport]
	switch {
	case !ok:
		return t, fmt.Errorf("forward target %q: forward supports only the dns and tls transports", raw)
	case host == "":
		return t, fmt.Errorf("invalid forward target %q", raw)
	}
	if h, p, err := net.SplitHostPort(host); err == nil && net.ParseIP(stripZone(h)) != nil {
		t.Address = net.JoinHostPort(h, p)
	} else if net.ParseIP(stripZone(host)) != nil {
		t.Address = net.JoinHostPort(host, port)
	} else if t.Transport == "dns" {
		t.File = host
	} else {
		return t, fmt.Errorf("forward target %q is not an IP address", raw)
	}
	return t, nil
}

// hasEnvPlaceholder reports whether CoreDNS would fill in part of s from its environment: s holds
// {$NAME} or {%NAME%}, the first of its kind with a name. ({env.NAME} is no placeholder to CoreDNS.)
func hasEnvPlaceholder(s string) bool {
	for _, delims := range [][2]string{{"{$", "}"}, {"{%", "%}"}} {
		if i := strings.Index(s, delims[0]); i >= 0 && strings.Index(s[i+2:], delims[1]) > 0 {
			return true
		}
	}
	return false
}

// Raws returns the targets as written.
func Raws(targets []Target) []string {
	var out []string
	for _, t := range targets {
		out = append(out, t.Raw)
	}
	return out
}

// stripZone drops an IPv6 zone ("%eth0") from host.
func stripZone(host string) string {
	if i := strings.LastIndex(host, "%"); i >= 0 {
		return host[:i]
	}
	return host
}
