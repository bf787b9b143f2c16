package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netcert/netcert/kube"
)

// AgentImage is the image the agent runs on each node, as the kubelets resolved it.
type AgentImage struct {
	Ref string // as asked for
	ID  string // the kubelets' image ID (the same on every node), e.g. sha256:… or repo@sha256:…
}

// Pinned reports whether Ref names the image by digest, not by a tag that can move.
func (i AgentImage) Pinned() bool { return strings.Contains(i.Ref, "@sha256:") }

// InstallAgent creates the agent's namespace, ServiceAccount and DaemonSet (or updates the
// DaemonSet's image), and waits up to timeout for an agent to run on every node. Every node must
// run the same image: a tag that resolved to different images on different nodes is refused.
func InstallAgent(ctx context.Context, client kubernetes.Interface, image string, lifetime AgentLifetime, timeout time.Duration) (AgentImage, error) {
	got := AgentImage{Ref: image}
	if err := waitNamespaceGone(ctx, client, timeout); err != nil {
		return got, err
	}
	ns := AgentNamespaceObject(lifetime)
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return got, fmt.Errorf("create namespace %s: %w", AgentNamespace, err)
	}
	sa := AgentServiceAccount()
	if _, err := client.CoreV1().ServiceAccounts(AgentNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return got, fmt.Errorf("create ServiceAccount %s/%s: %w", AgentNamespace, AgentName, err)
	}
	want := AgentDaemonSet(image, lifetime)
	dsClient := client.AppsV1().DaemonSets(AgentNamespace)
	existing, err := dsClient.Get(ctx, AgentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = dsClient.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		existing.Spec.Template = want.Spec.Template
		_, err = dsClient.Update(ctx, existing, metav1.UpdateOptions{})
	}
	if err != nil {
		return got, fmt.Errorf("install DaemonSet %s/%s: %w", AgentNamespace, AgentName, err)
	}
	if err := kube.WaitForDaemonSets(ctx, client, AgentNamespace, []string{AgentName}, timeout); err != nil {
		return got, fmt.Errorf("netcert agent: %w: is image %s available to the nodes?", err, image)
	}
	got.ID, err = agentImageID(ctx, client)
	return got, err
}

// agentImageID is the image ID every running agent pod reports; an error names the nodes when
// they differ.
func agentImageID(ctx context.Context, client kubernetes.Interface) (string, error) {
	pods, err := client.CoreV1().Pods(AgentNamespace).List(ctx, metav1.ListOptions{LabelSelector: AgentSelector})
	if err != nil {
		return "", fmt.Errorf("list netcert agent pods: %w", err)
	}
	onNodes := map[string][]string{} // image ID → nodes
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.Name == agentContainer && s.ImageID != "" {
				onNodes[s.ImageID] = append(onNodes[s.ImageID], p.Spec.NodeName)
			}
		}
	}
	ids := slices.Sorted(maps.Keys(onNodes))
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	}
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s on %s", id, strings.Join(onNodes[id], ", ")))
	}
	return "", fmt.Errorf("the agent runs different images on different nodes (%s): its tag moved; pass --agent-image REPO@sha256:DIGEST", strings.Join(parts, "; "))
}

// RemoveAgent deletes the agent's namespace, and with it its DaemonSet, pods and ServiceAccount,
// and waits up to timeout until it is gone.
func RemoveAgent(ctx context.Context, client kubernetes.Interface, timeout time.Duration) error {
	return kube.DeleteNamespace(ctx, client, AgentNamespace, timeout)
}

// waitNamespaceGone waits until the agent's namespace is not terminating any more.
func waitNamespaceGone(ctx context.Context, client kubernetes.Interface, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		ns, err := client.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp == nil), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s is still being deleted after %s: `kubectl get all -n %s` shows what holds it", AgentNamespace, timeout, AgentNamespace)
	}
	return nil
}

// EnsureAgent returns every node reached through an agent. When a standing agent runs on every
// node it is used as it is and release does nothing; otherwise an agent is installed for this
// run, and release removes it (keep: release leaves it). Progress goes to log.
func EnsureAgent(ctx context.Context, config *rest.Config, client kubernetes.Interface, image string, timeout time.Duration, keep bool, log io.Writer) (nodes []Node, release func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	ds, err := client.AppsV1().DaemonSets(AgentNamespace).Get(ctx, AgentName, metav1.GetOptions{})
	standing := err == nil && ds.Annotations[lifetimeAnnotation] == string(AgentStanding)
	if standing {
		if nodes, err := AgentNodes(ctx, config, client); err == nil {
			fmt.Fprintf(log, "using the standing netcert agent (%s/%s)\n", AgentNamespace, AgentName)
			return nodes, noop, nil
		}
	}
	lifetime := AgentForRun
	if standing || keep {
		lifetime = AgentStanding
	}
	fmt.Fprintf(log, "starting netcert's agent for this run (namespace %s, image %s); waiting up to %s ...\n", AgentNamespace, image, timeout)
	start := time.Now()
	release = func(ctx context.Context) error {
		if keep || standing {
			fmt.Fprintf(log, "netcert's agent stays (%s/%s): `netcert agent remove` removes it\n", AgentNamespace, AgentName)
			return nil
		}
		err := RemoveAgent(ctx, client, timeout)
		if err == nil {
			fmt.Fprintf(log, "removed netcert's agent (namespace %s)\n", AgentNamespace)
		}
		return err
	}
	img, err := InstallAgent(ctx, client, image, lifetime, timeout)
	if err == nil {
		nodes, err = AgentNodes(ctx, config, client)
	}
	if err != nil {
		return nil, noop, errors.Join(err, release(context.WithoutCancel(ctx)))
	}
	fmt.Fprintf(log, "netcert's agent runs on %d node(s) (%s)%s\n", len(nodes), time.Since(start).Round(100*time.Millisecond), img.describe())
	return nodes, release, nil
}

// describe says which image runs and whether a tag could move under it.
func (i AgentImage) describe() string {
	switch {
	case i.Pinned():
		return ", image pinned by digest"
	case i.ID != "":
		return fmt.Sprintf(", image %s is %s on every node (a tag: pin it with --agent-image REPO@sha256:DIGEST where a registry serves it)", i.Ref, i.ID)
	}
	return ""
}
