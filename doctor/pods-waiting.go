package doctor

import (
	"context"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stuckPods names the pods of the node (every node: "") that wait for their network
// ("; pods waiting for their network: a, b"), or "".
func stuckPods(ctx context.Context, c *Cluster, nodeName string) string {
	selector := "status.phase=Pending"
	if nodeName != "" {
		selector += ",spec.nodeName=" + nodeName
	}
	list, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return ""
	}
	var names []string
	for _, p := range list.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason == "ContainerCreating" && !p.Spec.HostNetwork {
				names = append(names, p.Namespace+"/"+p.Name)
				break
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "; pods waiting for their network: " + strings.Join(names, ", ")
}
