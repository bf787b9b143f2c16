package doctor

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// Pods move only as their PodDisruptionBudgets allow: a refused eviction is asked again on the
// next round, never replaced by a delete; a budget that never allows it ends the repair with the
// pod it holds and the API server's reason.
func TestPodCIDROverlapCalicoRepairWaitsForDisruptionBudgets(t *testing.T) {
	ctx := context.Background()
	for _, refusals := range []int{2, -1} { // -1: always
		c, cs, _ := calicoOverlapCluster(t, true)
		asked := 0
		cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() != "eviction" {
				return false, nil, nil
			}
			if asked++; refusals < 0 || asked <= refusals {
				return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 1)
			}
			return false, nil, nil
		})
		p, plan := calicoPlan(t, c)
		p.RecycleTimeout = 200 * time.Millisecond
		var progress bytes.Buffer
		c.Log = slog.New(slog.NewTextHandler(&progress, nil))
		_, err := p.Apply(ctx, c, plan)
		assert.Equal(t, 1, strings.Count(progress.String(), "waiting for PodDisruptionBudgets"), "one progress line while the same pods wait: %s", progress.String())
		for _, a := range cs.Actions() {
			assert.NotEqual(t, "delete", a.GetVerb()+a.GetSubresource(), "pods are evicted, never deleted")
		}
		if refusals > 0 {
			require.NoError(t, err)
			assert.Equal(t, refusals+1, asked)
			_, err = cs.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "evicted once the budget allowed it")
			continue
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), "their PodDisruptionBudgets refused to evict default/web-1: Cannot evict pod as it would violate the pod's disruption budget.")
		_, err = cs.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{})
		assert.NoError(t, err, "still there")
	}
}
