// Package node gives netcert's checks, repairs and faults one way to run commands on a cluster
// node, whatever the node is: a kind node (docker exec), later an in-cluster agent pod, or a fake
// node in unit tests.
package node
