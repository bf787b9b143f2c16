package doctor

import (
	"context"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/netcert/netcert/kube"
)

// podEvictions asks the Eviction API to evict pods, each once, and keeps what the
// PodDisruptionBudgets refused, to ask again on the next round.
type podEvictions struct {
	asked   map[types.UID]bool
	blocked map[string]string // namespace/name → the API server's reason, as of the last round
	waiting string            // the pods the last progress line said the budgets hold
}

// ask evicts the pods not yet evicted: as many as the budgets allow now.
func (e *podEvictions) ask(ctx context.Context, c *Cluster, pods []corev1.Pod) error {
	e.blocked = map[string]string{}
	for _, pod := range pods {
		if e.asked[pod.UID] || pod.DeletionTimestamp != nil {
			continue
		}
		reason, err := kube.Evict(ctx, c.Client, pod)
		if err != nil {
			return err
		}
		if reason != "" {
			e.blocked[pod.Namespace+"/"+pod.Name] = reason
			continue
		}
		e.asked[pod.UID] = true
		c.log().Info("evicted", "pod", pod.Namespace+"/"+pod.Name)
	}
	// A progress line when the pods the budgets hold change, not every round.
	if held := strings.Join(slices.Sorted(maps.Keys(e.blocked)), ", "); held != e.waiting {
		e.waiting = held
		if held != "" {
			c.log().Info("waiting for PodDisruptionBudgets", "pods", held)
		}
	}
	return nil
}

// blockedText says which pods the budgets still hold, for a timeout's error.
func (e *podEvictions) blockedText() string {
	if len(e.blocked) == 0 {
		return ""
	}
	var parts []string
	for _, pod := range slices.Sorted(maps.Keys(e.blocked)) {
		parts = append(parts, pod+": "+e.blocked[pod])
	}
	return "; their PodDisruptionBudgets refused to evict " + strings.Join(parts, "; ")
}
