package faults

import (
	"context"
	"errors"
	"fmt"
)

// Clean reverts whatever netcert's faults left on the cluster, from their marks: every node's
// journal, a Corefile the CoreDNS fault replaced (its ConfigMap's annotation), Calico's fault
// IPPool and its workload. It names each fault it reverted; what it could not revert is in the
// error, and stays marked for the next try.
func Clean(ctx context.Context, c *Cluster) ([]string, error) {
	var cleaned []string
	var errs []error
	for _, n := range c.Nodes {
		reverted, err := RevertJournal(ctx, n)
		for _, r := range reverted {
			cleaned = append(cleaned, fmt.Sprintf("%s on %s", r, n.Name()))
		}
		errs = append(errs, err)
	}
	if c.Client != nil {
		done, err := CoreDNSForwardBroken{}.clean(ctx, c)
		if done {
			cleaned = append(cleaned, "coredns-forward-broken (the original Corefile is back)")
		}
		errs = append(errs, err)
	}
	if c.Client != nil && c.Dynamic != nil && c.CNI == "calico" {
		done, err := PodCIDROverlap{}.cleanPool(ctx, c)
		if done {
			cleaned = append(cleaned, fmt.Sprintf("pod-cidr-overlap (IPPool %s and its workload)", PodCIDROverlapPool))
		}
		errs = append(errs, err)
	}
	return cleaned, errors.Join(errs...)
}
