// Package faults breaks a cluster for real — kernel settings, netfilter rules, routes, CoreDNS
// configuration — each fault returning the Revert that undoes it. Reverts are idempotent and safe
// after a repair; register them with t.Cleanup so a failing test never leaves a fault behind.
// The package does not depend on the doctor package: detection must not know what was injected.
package faults
