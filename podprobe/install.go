package podprobe

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/netcert/netcert/fixtures"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/traffic"
)

// ProbeSets are the probe DaemonSets (fixtures/netcert-probes.yaml): two pods per node.
var ProbeSets = []string{"probe-a", "probe-b"}

// ProbeServices front the probe pods: set a by cluster IP and by node port, and each set to the
// pods of its own node (internalTrafficPolicy Local).
var ProbeServices = []string{traffic.ProbeService, traffic.NodePortService, traffic.SameNodeService, traffic.HairpinService}

// ProbeService fronts the pods of set a.
const ProbeService = traffic.ProbeService

// Install creates netcert's probes (namespace, DaemonSets, Service; what exists stays, but probes
// of another image are an error) and waits up to timeout for a Ready probe of each set on every
// node.
func Install(ctx context.Context, config *rest.Config, client kubernetes.Interface, image string, timeout time.Duration) error {
	existing, err := client.AppsV1().DaemonSets(Namespace).Get(ctx, ProbeSets[0], metav1.GetOptions{})
	if err == nil {
		if have := existing.Spec.Template.Spec.Containers[0].Image; have != image {
			return fmt.Errorf("netcert's probes are installed already, with image %s: remove them first to install %s", have, image)
		}
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("read DaemonSet %s/%s: %w", Namespace, ProbeSets[0], err)
	}
	r, err := resources.New(config)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if err := fixtures.Apply(ctx, r, "netcert-probes.yaml", map[string]string{"ProbeImage": image}); err != nil {
		return err
	}
	if err := kube.WaitForDaemonSets(ctx, client, Namespace, ProbeSets, timeout); err != nil {
		return fmt.Errorf("netcert's probes: %w: is image %s available to the nodes?", err, image)
	}
	return nil
}

// Remove deletes the probe DaemonSets and their Services; the namespace stays.
func Remove(ctx context.Context, client kubernetes.Interface) error {
	for _, name := range ProbeSets {
		if err := client.AppsV1().DaemonSets(Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete DaemonSet %s/%s: %w", Namespace, name, err)
		}
	}
	for _, name := range ProbeServices {
		if err := client.CoreV1().Services(Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Service %s/%s: %w", Namespace, name, err)
		}
	}
	return nil
}
