// Package kube holds the small Kubernetes API helpers that both the doctor and the faults packages
// need (rolling a Deployment and waiting for it, Calico's IPPools), so that faults never has to
// import doctor.
package kube
