// Package traffic is netcert's traffic matrix: the paths a cluster's network must carry, each
// with a stable ID (pod-to-pod/cross-node, external-to-nodeport, …), built from netcert's probe
// pods and Services, and a runner that sends real traffic over them through a Sender. The
// doctor's sweep (doctor.TrafficPathBroken) and the suites' traffic matrix use the same cases.
package traffic
