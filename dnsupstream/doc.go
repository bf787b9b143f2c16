// Package dnsupstream is a small authoritative DNS server for netcert's test
// zone. It stands in as CoreDNS's only upstream so that no query leaves the
// machine: names in the zone get fixed A records, unknown names in the zone
// get NXDOMAIN, the zone apex answers SOA and NS, and every name outside the
// zone is REFUSED, never forwarded. A silent mode accepts queries and never
// answers, to play a dead upstream.
//
// Handler holds the answering logic and can be tested without a network;
// Server runs a Handler on UDP and TCP.
package dnsupstream
