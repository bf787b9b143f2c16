// Command netcert-probe is the static binary run in netcert's probe pods.
//
// "netcert-probe serve" runs the listening side: an HTTP server that reports
// the pod's identity, a TCP echo server and a UDP echo server. The client
// subcommands "http", "tcp", "udp" and "dns" check one target each and print
// exactly one JSON line (a probe.Result) on stdout. The exit status is 0 when
// the check succeeded, 1 when it failed and 2 on a usage error. "netcert-probe batch" runs a
// JSON list of client command lines at once and prints their lines in order: one exec into a
// pod for all of a sender's cases.
//
// Build it with CGO_ENABLED=0 for a static binary.
package main
