package faults

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// NodeResolvConfBroken empties the nodes' /etc/resolv.conf, as a configuration push gone wrong
// does, with CoreDNS on kubeadm's `forward . /etc/resolv.conf`: the kubelet gives CoreDNS's pods
// (DNS policy Default) the empty file, CoreDNS finds no upstream and exits, and its pods
// crash-loop; no name resolves.
//
// It never lets a query leave the machine: every node's file is emptied and CoreDNS restarted
// (its pods then hold the empty copy) before the Corefile reads /etc/resolv.conf, and the revert
// puts the original Corefile back and restarts CoreDNS before the files come back. Every node,
// because a CoreDNS pod on a node with a working file would forward the test zone to the node's
// resolvers (on kind, Docker's, which forward off the machine).
type NodeResolvConfBroken struct {
	// StopTimeout bounds each wait for CoreDNS (its pods ready, or stopped; default 2m);
	// PollInterval paces it (default kube.DefaultPollInterval, 500ms).
	StopTimeout, PollInterval time.Duration
}

// Name returns "node-resolv-conf-broken".
func (NodeResolvConfBroken) Name() string { return "node-resolv-conf-broken" }

// AppliesTo: CoreDNS runs with every CNI.
func (NodeResolvConfBroken) AppliesTo(string) bool { return true }

// nodeResolvConf is the file the kubelet gives pods of DNS policy Default (its default).
const nodeResolvConf = "/etc/resolv.conf"

// Inject empties every node's resolv.conf (each journaled with its content, for `netcert clean`),
// restarts CoreDNS, points the Corefile's forwards at /etc/resolv.conf and restarts CoreDNS again,
// then waits until each pod has exited. A failure on the way reverts what was done.
func (f NodeResolvConfBroken) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Client == nil || len(c.Nodes) == 0 {
		return nil, fmt.Errorf("%s: needs the Kubernetes client and the nodes", f.Name())
	}
	original, fromFile, err := corefileForwardingTo(ctx, c, nodeResolvConf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	var fileReverts []Revert
	revert := func(ctx context.Context) error {
		// The first restart replaces the fault's crash-looping pods (nothing to drain: at once);
		// the second, serving ones (gracefully).
		errs := []error{writeCorefile(ctx, c, original, ""), f.restartCoreDNS(ctx, c, true)}
		if errors.Join(errs...) == nil { // the files come back only when no pod reads them through the Corefile
			for _, r := range fileReverts {
				errs = append(errs, r(ctx))
			}
			errs = append(errs, f.restartCoreDNS(ctx, c, false))
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	}
	fail := func(err error) (Revert, error) {
		return nil, errors.Join(fmt.Errorf("%s: %w", f.Name(), err), revert(context.WithoutCancel(ctx)))
	}
	for _, n := range c.Nodes {
		r, err := emptyResolvConf(ctx, n, f.Name())
		if err != nil {
			return fail(err)
		}
		fileReverts = append(fileReverts, r)
	}
	if err := f.restartCoreDNS(ctx, c, true); err != nil {
		return fail(err)
	}
	if err := writeCorefile(ctx, c, fromFile, original); err != nil {
		return fail(err)
	}
	if err := deleteCoreDNSPods(ctx, c, true); err != nil {
		return fail(err)
	}
	if err := waitCoreDNSCrashed(ctx, c, f.StopTimeout, f.PollInterval, "no nameserver in /etc/resolv.conf: does the Corefile forward to it?"); err != nil {
		return fail(err)
	}
	return revert, nil
}

// emptyResolvConf empties n's resolv.conf after journaling the script that writes its content back.
func emptyResolvConf(ctx context.Context, n node.Node, fault string) (Revert, error) {
	content, stderr, err := n.Exec(ctx, "cat", nodeResolvConf) // untrimmed: it comes back byte for byte
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w: %s", nodeResolvConf, n.Name(), err, strings.TrimSpace(string(stderr)))
	}
	// In place (a bind mount on kind cannot be replaced), from base64: any byte comes back as it was.
	undo := fmt.Sprintf("printf '%%s' '%s' | base64 -d > %s", base64.StdEncoding.EncodeToString(content), nodeResolvConf)
	return nodeChange(ctx, n, fault, undo, []string{"sh", "-c", ": > " + nodeResolvConf})
}

// restartCoreDNS deletes CoreDNS's pods (at once, with no grace period, when now) and waits until
// as many new ones are ready and the old ones are gone.
func (f NodeResolvConfBroken) restartCoreDNS(ctx context.Context, c *Cluster, now bool) error {
	before, err := c.Client.CoreV1().Pods(kube.CoreDNSNamespace).List(ctx, metav1.ListOptions{LabelSelector: kube.CoreDNSSelector})
	if err != nil {
		return fmt.Errorf("read CoreDNS's pods: %w", err)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[string(p.UID)] = true
	}
	if err := deleteCoreDNSPods(ctx, c, now); err != nil {
		return err
	}
	ready := 0
	err = pollCoreDNS(ctx, c, f.StopTimeout, f.PollInterval, func(pods []corev1.Pod, terminating int) bool {
		ready = 0
		for _, p := range pods {
			if !old[string(p.UID)] && kube.PodReady(p) {
				ready++
			}
		}
		return ready > 0 && ready >= len(old) && ready == len(pods) && terminating == 0
	})
	if errors.Is(err, errPollTimeout) {
		return fmt.Errorf("CoreDNS restarted, but %d of %d new pod(s) ready after %s", ready, len(old), orDefault(f.StopTimeout, 2*time.Minute))
	}
	return err
}

// deleteCoreDNSPods deletes CoreDNS's pods, for its Deployment to make new ones; now: with no grace
// period (CoreDNS's lameduck is not waited for).
func deleteCoreDNSPods(ctx context.Context, c *Cluster, now bool) error {
	opts := metav1.DeleteOptions{}
	if now {
		opts.GracePeriodSeconds = new(int64) // 0: no lameduck wait
	}
	err := c.Client.CoreV1().Pods(kube.CoreDNSNamespace).DeleteCollection(ctx, opts, metav1.ListOptions{LabelSelector: kube.CoreDNSSelector})
	if err != nil {
		return fmt.Errorf("restart CoreDNS's pods: %w", err)
	}
	return nil
}
