package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/corefile"
)

// CoreDNSForwardBroken points every forward directive of CoreDNS's Corefile at a dead upstream, as
// a bad edit of the ConfigMap would: names outside the cluster domain stop resolving. It rolls
// CoreDNS so the broken Corefile is in force at once. Revert restores the original Corefile
// byte for byte and rolls CoreDNS again.
type CoreDNSForwardBroken struct {
	// DeadUpstream (required) is IP or IP:port (port 53 by default) of our own cluster network
	// where nothing answers DNS: e.g. the ClusterIP of a Service without endpoints, or a probe
	// pod's IP on a port where nothing listens. It must be a private address (RFC 1918 or IPv6
	// ULA); the fault never picks one itself, so no query can leave the machine.
	DeadUpstream string
	// DeadService ("namespace/name"), instead of DeadUpstream, names a Service of the cluster
	// without ready endpoints: the fault takes its ClusterIP and first port, and refuses a
	// Service that has endpoints (something would answer there).
	DeadService string
	// RolloutTimeout bounds each wait for CoreDNS to roll out (default 2m).
	RolloutTimeout time.Duration
	// PollInterval is how often the rollout is polled (default kube.DefaultPollInterval, 500ms).
	PollInterval time.Duration
}

// Name returns "coredns-forward-broken".
func (CoreDNSForwardBroken) Name() string { return "coredns-forward-broken" }

// AppliesTo: CoreDNS runs with every CNI.
func (CoreDNSForwardBroken) AppliesTo(string) bool { return true }

// Inject rewrites the forward targets and rolls CoreDNS. If the rollout fails it reverts at once,
// so a failed Inject leaves nothing behind.
func (f CoreDNSForwardBroken) Inject(ctx context.Context, c *Cluster) (Revert, error) {
	if c.Client == nil {
		return nil, fmt.Errorf("%s: no Kubernetes client", f.Name())
	}
	addr := f.DeadUpstream
	if f.DeadService != "" {
		var err error
		if addr, err = serviceWithoutEndpoints(ctx, c, f.DeadService); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
	}
	dead, err := deadUpstream(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	original, broken, err := corefileForwardingTo(ctx, c, dead)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	revert := func(ctx context.Context) error {
		if err := f.setCorefile(ctx, c, original, ""); err != nil {
			return fmt.Errorf("%s: revert: %w", f.Name(), err)
		}
		return nil
	}
	if err := f.setCorefile(ctx, c, broken, original); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", f.Name(), err), revert(ctx))
	}
	return revert, nil
}

// OriginalCorefileAnnotation marks the CoreDNS ConfigMap while the fault is injected: it holds the
// Corefile the fault replaced, so that `netcert clean` can restore it after a killed run.
const OriginalCorefileAnnotation = "netcert.io/fault-original-corefile"

// setCorefile writes corefile, with the mark that holds original ("": no mark), and rolls CoreDNS;
// when both are already in place it does nothing.
func (f CoreDNSForwardBroken) setCorefile(ctx context.Context, c *Cluster, corefile, original string) error {
	if err := writeCorefile(ctx, c, corefile, original); err != nil {
		return err
	}
	_, _, err := kube.RollCoreDNS(ctx, c.Client, corefile, f.RolloutTimeout, f.PollInterval)
	return err
}

// writeCorefile writes corefile into CoreDNS's ConfigMap with the mark that holds original ("":
// no mark), unless both are there already.
func writeCorefile(ctx context.Context, c *Cluster, corefile, original string) error {
	cms := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace)
	cm, err := cms.Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read the Corefile: %w", err)
	}
	if cm.Data[kube.CorefileKey] == corefile && cm.Annotations[OriginalCorefileAnnotation] == original {
		return nil
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[kube.CorefileKey] = corefile
	if original != "" {
		metav1.SetMetaDataAnnotation(&cm.ObjectMeta, OriginalCorefileAnnotation, original)
	} else {
		delete(cm.Annotations, OriginalCorefileAnnotation)
	}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("write the Corefile: %w", err)
	}
	return nil
}

// serviceWithoutEndpoints returns ClusterIP:port of the Service ref ("namespace/name"), and an
// error when its EndpointSlices list a ready endpoint.
func serviceWithoutEndpoints(ctx context.Context, c *Cluster, ref string) (string, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return "", fmt.Errorf("dead service %q: want namespace/name", ref)
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read the dead service: %w", err)
	}
	if net.ParseIP(svc.Spec.ClusterIP) == nil || len(svc.Spec.Ports) == 0 {
		return "", fmt.Errorf("service %s has no ClusterIP and port to forward to", ref)
	}
	slices, err := c.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return "", fmt.Errorf("read the endpoints of service %s: %w", ref, err)
	}
	for _, es := range slices.Items {
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				return "", fmt.Errorf("service %s has a ready endpoint (%v): something answers there, pick a Service without endpoints", ref, ep.Addresses)
			}
		}
	}
	return net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(svc.Spec.Ports[0].Port)), nil
}

// deadUpstream checks the address and adds port 53 when it has none.
func deadUpstream(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("the dead upstream is required: an address of the cluster network where nothing answers")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), "53"
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "", fmt.Errorf("dead upstream %q is not an IP or IP:port", addr)
	}
	if !ip.IsPrivate() {
		return "", fmt.Errorf("dead upstream %s is not a private address of the cluster network", ip)
	}
	return net.JoinHostPort(host, port), nil
}

// corefileForwardingTo reads CoreDNS's Corefile and returns it, and it with every forward
// pointed at target.
func corefileForwardingTo(ctx context.Context, c *Cluster, target string) (original, changed string, err error) {
	cm, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("read the Corefile: %w", err)
	}
	original, ok := cm.Data[kube.CorefileKey]
	if !ok {
		return "", "", fmt.Errorf("configmap %s/%s has no %s", kube.CoreDNSNamespace, kube.CoreDNSConfigMap, kube.CorefileKey)
	}
	changed, err = forwardTo(original, target)
	return original, changed, err
}

// forwardTo returns src with the targets of every forward directive replaced by target; every
// other byte (FROM, options, comments) stays. It refuses a Corefile it cannot see whole: one that
// imports files (they live in the CoreDNS pod: their forwards would stay), or one whose targets are
// variables of the CoreDNS pod's environment.
func forwardTo(src, target string) (string, error) {
	cf, err := corefile.Parse(src)
	if err != nil {
		return "", err
	}
	if len(cf.Imports) > 0 {
		imp := cf.Imports[0]
		return "", fmt.Errorf("line %d of the Corefile imports %q, a file of the CoreDNS pod that netcert cannot see: only self-contained Corefiles are supported", imp.Line, imp.Pattern)
	}
	if len(cf.Forwards) == 0 {
		return "", errors.New("the Corefile has no forward directive to break")
	}
	for _, f := range cf.Forwards {
		for _, t := range f.Targets {
			if t.EnvPlaceholder {
				return "", fmt.Errorf("line %d of the Corefile forwards to %s, a variable of the CoreDNS pod's environment: only Corefiles whose targets are written out are supported", f.Line, t.Raw)
			}
		}
	}
	// An edit keeps every line where it was, so the forwards left are found again after it.
	for range cf.Forwards {
		f, ok := forwardNotTo(cf, target)
		if !ok {
			break
		}
		out, err := cf.ReplaceTargets(f, []string{target})
		if err != nil {
			return "", fmt.Errorf("line %d of the Corefile: %w", f.Line, err)
		}
		if cf, err = corefile.Parse(out); err != nil {
			return "", fmt.Errorf("the edited Corefile: %w", err)
		}
	}
	if f, ok := forwardNotTo(cf, target); ok {
		return "", fmt.Errorf("line %d of the edited Corefile forwards to %q, not %q", f.Line, strings.Join(corefile.Raws(f.Targets), " "), target)
	}
	return cf.Source, nil
}

// forwardNotTo returns the first forward of cf whose targets are not target alone.
func forwardNotTo(cf *corefile.Corefile, target string) (corefile.Forward, bool) {
	for _, f := range cf.Forwards {
		if len(f.Targets) != 1 || f.Targets[0].Raw != target {
			return f, true
		}
	}
	return corefile.Forward{}, false
}

// clean restores the Corefile a fault replaced, when the ConfigMap still carries the fault's mark.
func (f CoreDNSForwardBroken) clean(ctx context.Context, c *Cluster) (bool, error) {
	cm, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: read the Corefile: %w", f.Name(), err)
	}
	original, marked := cm.Annotations[OriginalCorefileAnnotation]
	if !marked {
		return false, nil
	}
	if err := f.setCorefile(ctx, c, original, ""); err != nil {
		return false, fmt.Errorf("%s: restore the Corefile: %w", f.Name(), err)
	}
	return true, nil
}
