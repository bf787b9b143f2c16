// Package probe holds the network checks and the echo servers that run inside
// netcert's probe pods.
//
// The client functions (HTTP, TCP, UDP and DNS) each make one bounded attempt
// against a target and describe the outcome as a Result; they never print,
// never exit and take their time limit from the context. Repeat runs several
// attempts with a pause between them. The cmd/netcert-probe binary prints a
// Result as one JSON line, and the test suites read that line back with
// ParseResult.
//
// Server runs the listening side: an HTTP server that reports the pod's
// identity, a TCP echo server and a UDP echo server.
package probe
