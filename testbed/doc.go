// Package testbed creates and removes the real kind clusters that netcert's suites run on: it builds
// the pinned kind binary, creates the cluster with it (one retry, kind's logs kept on failure) with
// the node image of the selected image mode, loads the images built here, installs the CNI and
// netcert's probe and DNS upstream workloads, makes CoreDNS hermetic, and waits until the CNI, every
// node and CoreDNS are Ready. Its life-cycle functions are sigs.k8s.io/e2e-framework environment
// functions. Each cluster gets its own Docker network, deleted with it unless the user keeps the
// cluster.
package testbed
