package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// Clean reverts whatever netcert's faults left on the cluster, from their marks: every node's
// journal, a Corefile the CoreDNS fault replaced (its ConfigMap's annotation), the
// NetworkPolicies labelled netcert.io/fault, the IPPool nodeSelectors calico-ippool-exhausted replaced,
// Calico's fault IPPool and its workload. It names each fault it reverted; what it could not revert is in the
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
		policies, err := cleanPolicies(ctx, c)
		for _, p := range policies {
			cleaned = append(cleaned, "network-policy-blocks (NetworkPolicy "+p+" deleted)")
		}
		errs = append(errs, err)
	}
	if c.Dynamic != nil && c.CNI == "calico" {
		pools, err := cleanPoolSelectors(ctx, c)
		for _, p := range pools {
			cleaned = append(cleaned, "calico-ippool-exhausted (IPPool "+p+"'s nodeSelector put back)")
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

// Marks lists, without changing anything, the marks of faults left on the cluster: journal
// entries, rules and sets named after netcert's faults, a marked Corefile, the fault's
// NetworkPolicies, the IPPool selectors it replaced, Calico's fault pool and workload.
func Marks(ctx context.Context, c *Cluster) ([]string, error) {
	var marks []string
	var errs []error
	for _, n := range c.Nodes {
		out, err := node.Run(ctx, n, append(append([]string{}, journalList...), JournalDir)...)
		for _, p := range strings.Fields(out) {
			marks = append(marks, fmt.Sprintf("journal entry %s on %s", p, n.Name()))
		}
		errs = append(errs, err)
		// A fault's own names in the node's rules, whatever wrote them.
		out, err = node.Run(ctx, n, "sh", "-c", `{ iptables-legacy-save; iptables-nft-save; nft list ruleset; ipset list -n; ip -o link show; } 2>/dev/null | grep -c -e "$1" -e "$2" -e "$3" -e "$4"; exit 0`,
			"netcert-marks", OverlayPortBlockedComment, OverlayPortBlockedTable, "NETCERT-FAULT", PodCIDROverlapDev)
		if count := strings.TrimSpace(out); err == nil && count != "0" && count != "" {
			marks = append(marks, fmt.Sprintf("%s line(s) of %s's rules, sets or links name a netcert fault", count, n.Name()))
		}
		errs = append(errs, err)
	}
	if c.Client != nil {
		cm, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
		if err == nil && cm.Annotations[OriginalCorefileAnnotation] != "" {
			marks = append(marks, fmt.Sprintf("ConfigMap %s/%s holds a Corefile coredns-forward-broken replaced", kube.CoreDNSNamespace, kube.CoreDNSConfigMap))
		} else if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
		policies, err := c.Client.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{LabelSelector: FaultLabel})
		if err == nil {
			for _, p := range policies.Items {
				marks = append(marks, "NetworkPolicy "+p.Namespace+"/"+p.Name)
			}
		}
		errs = append(errs, err)
	}
	if c.Dynamic != nil && c.CNI == "calico" {
		pools, err := poolsSelectedAway(ctx, c)
		for p := range pools {
			marks = append(marks, "IPPool "+p+"'s nodeSelector replaced by calico-ippool-exhausted")
		}
		errs = append(errs, err)
		if _, err := c.Dynamic.Resource(kube.CalicoIPPools).Get(ctx, PodCIDROverlapPool, metav1.GetOptions{}); err == nil {
			marks = append(marks, "IPPool "+PodCIDROverlapPool)
		} else if !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return marks, errors.Join(errs...)
}
