// Package node gives netcert's checks, repairs and faults one way to run commands on a cluster
// node, whatever the node is: a kind node (docker exec), a node reached through netcert's agent
// pod (pod exec and nsenter), or a fake node in unit tests.
package node
