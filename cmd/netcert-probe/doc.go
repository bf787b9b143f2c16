// Command netcert-probe is the static binary run in netcert's probe pods.
//
// "netcert-probe serve" runs the listening side: an HTTP server that reports
// the pod's identity, a TCP echo server and a UDP echo server. The client
// subcommands "http", "tcp", "udp" and "dns" check one target each and print
// exactly one JSON line (a probe.Result) on stdout. The exit status is 0 when
// the check succeeded, 1 when it failed and 2 on a usage error.
//
// Build it with CGO_ENABLED=0 for a static binary.
package main
