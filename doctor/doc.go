// Package doctor is netcert's detection-and-repair library. A Check looks at a cluster — node
// kernel state, netfilter rules, routes, API objects, live probes — and returns Findings with the
// evidence it read; it never knows what, if anything, was broken on purpose. A Repair first plans
// (what would change, where, or the manual steps when it cannot be automated safely), then applies
// the plan idempotently and returns an audit Record. Library code never prints or exits; pass a
// *slog.Logger in Cluster to see what it does.
package doctor
