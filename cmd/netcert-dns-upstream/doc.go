// Command netcert-dns-upstream is the DNS server netcert runs as CoreDNS's
// only upstream, so that no query leaves the machine. It answers A records
// of one test zone, NXDOMAIN for other names in the zone, SOA and NS at the
// zone apex, and REFUSED for every name outside the zone; it never forwards.
// With --silent it accepts queries and never answers, playing a dead
// upstream.
//
// Build it with CGO_ENABLED=0 for a static binary.
package main
