package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/coredns/caddy/caddyfile"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/kube"
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
	// PollInterval is how often the rollout is polled (default 2s).
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
	cm, err := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace).Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: read the Corefile: %w", f.Name(), err)
	}
	original, ok := cm.Data[kube.CorefileKey]
	if !ok {
		return nil, fmt.Errorf("%s: configmap %s/%s has no %s", f.Name(), kube.CoreDNSNamespace, kube.CoreDNSConfigMap, kube.CorefileKey)
	}
	broken, err := forwardTo(original, dead)
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
	cms := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace)
	cm, err := cms.Get(ctx, kube.CoreDNSConfigMap, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read the Corefile: %w", err)
	}
	if cm.Data[kube.CorefileKey] != corefile || cm.Annotations[OriginalCorefileAnnotation] != original {
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
	}
	_, _, err = kube.RollCoreDNS(ctx, c.Client, corefile, f.RolloutTimeout, f.PollInterval)
	return err
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

// forwardTo returns corefile with the targets of every forward directive replaced by target, each
// located from the tokens of CoreDNS's own parser; every other byte stays.
func forwardTo(corefile, target string) (string, error) {
	fws, err := forwardLines(corefile)
	if err != nil {
		return "", err
	}
	if len(fws) == 0 {
		return "", errors.New("the Corefile has no forward directive to break")
	}
	lines := strings.SplitAfter(corefile, "\n")
	for _, fw := range fws {
		line, err := replaceWords(lines[fw.line-1], fw.words, target)
		if err != nil {
			return "", fmt.Errorf("line %d of the Corefile: %w", fw.line, err)
		}
		lines[fw.line-1] = line
	}
	out := strings.Join(lines, "")
	after, err := forwardLines(out)
	if err != nil {
		return "", fmt.Errorf("the edited Corefile: %w", err)
	}
	for _, fw := range after {
		if got := strings.Join(fw.words[2:], " "); got != target {
			return "", fmt.Errorf("line %d of the edited Corefile forwards to %q, not %q", fw.line, got, target)
		}
	}
	return out, nil
}

// forwardLine is the keyword line of a forward directive: forward, FROM and every TO.
type forwardLine struct {
	line  int
	words []string
}

// forwardLines parses corefile with CoreDNS's parser and returns its forward directives.
func forwardLines(corefile string) ([]forwardLine, error) {
	d := caddyfile.NewDispenser("Corefile", strings.NewReader(corefile))
	for d.Next() {
		if d.Val() == "import" { // the parser would read imported files from this machine
			return nil, fmt.Errorf("line %d of the Corefile imports %q: only self-contained Corefiles are supported", d.Line(), corefileArg(&d))
		}
	}
	blocks, err := caddyfile.Parse("Corefile", strings.NewReader(corefile), nil)
	if err != nil {
		return nil, fmt.Errorf("parse Corefile: %w", err)
	}
	var out []forwardLine
	for _, b := range blocks {
		tokens := b.Tokens["forward"]
		for i, t := range tokens {
			if t.Text != "forward" || i+2 >= len(tokens) || tokens[i+2].Line != t.Line {
				continue
			}
			fw := forwardLine{line: t.Line, words: []string{t.Text}}
			for j := i + 1; j < len(tokens) && tokens[j].Line == t.Line && tokens[j].Text != "{"; j++ {
				fw.words = append(fw.words, tokens[j].Text)
			}
			out = append(out, fw)
		}
	}
	return out, nil
}

// replaceWords finds words (forward, FROM, TOs) in order in line and replaces the TOs by target.
func replaceWords(line string, words []string, target string) (string, error) {
	pos, from := 0, 0
	for i, w := range words {
		at := strings.Index(line[pos:], w)
		if at < 0 {
			return "", fmt.Errorf("cannot find %q in %q", w, strings.TrimSpace(line))
		}
		if i == 2 {
			from = pos + at
		}
		pos += at + len(w)
	}
	if from > 0 && line[from-1] == '"' { // a quoted first or last TO: replace its quotes too
		from--
	}
	if pos < len(line) && line[pos] == '"' {
		pos++
	}
	return line[:from] + target + line[pos:], nil
}

func corefileArg(d *caddyfile.Dispenser) string {
	if d.NextArg() {
		return d.Val()
	}
	return ""
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
