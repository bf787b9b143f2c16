package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
)

// NodeResolvConfBroken is the check for node-resolv-conf-broken: the resolv.conf the kubelet
// gives pods of DNS policy Default (CoreDNS's among them) is missing, holds no nameserver, or
// only loopback ones. With kubeadm's `forward . /etc/resolv.conf`, CoreDNS reads its upstreams
// from that file: with none it exits ("plugin/forward: no nameservers found") and crash-loops;
// with a loopback one (a stub resolver's 127.0.0.53) it forwards to itself and the loop plugin
// stops it. The finding names the file, why it fails, and CoreDNS's pods on the node with their
// last words. The repair is a manual plan: netcert does not guess a node's DNS servers.
type NodeResolvConfBroken struct{}

// ID returns "node-resolv-conf-broken".
func (NodeResolvConfBroken) ID() string { return "node-resolv-conf-broken" }

// podResolvConf is the path CoreDNS's forward reads inside its pod: with DNS policy Default, the
// kubelet copies the node's resolv.conf there when it sets up the pod.
const podResolvConf = "/etc/resolv.conf"

// kubeletResolvConfScript prints the file the kubelet gives pods of DNS policy Default (its
// --resolv-conf flag, else resolvConf in its --config file, else /etc/resolv.conf) as
// "path PATH (WHERE FROM)", then "---" and the file, or "missing". It only reads.
const kubeletResolvConfScript = `set -u
args=
for p in /proc/[0-9]*; do
  if [ "$(cat "$p/comm" 2>/dev/null)" = kubelet ]; then args=$(tr '\0' '\n' < "$p/cmdline"); break; fi
done
flag() { printf '%s\n' "$args" | awk -v f="--$1" '$0 == f { getline; print; next } index($0, f "=") == 1 { print substr($0, length(f) + 2) }' | tail -n 1; }
path=$(flag resolv-conf); from="the kubelet's --resolv-conf"
if [ -z "$path" ]; then
  cfg=$(flag config)
  if [ -n "$cfg" ] && [ -r "$cfg" ]; then
    path=$(sed -n 's/^resolvConf:[[:space:]]*//p' "$cfg" | tail -n 1 | tr -d "\"'"); from="resolvConf in $cfg"
  fi
fi
if [ -z "$path" ]; then path=/etc/resolv.conf; from="the kubelet's default"; fi
[ -n "$args" ] || from="$from; no kubelet process found"
echo "path $path ($from)"
if [ -r "$path" ]; then echo ---; cat "$path"; else echo missing; fi`

// resolvConf is a node's resolv.conf as the kubelet hands it to pods.
type resolvConf struct {
	path, from  string
	missing     bool
	nameservers []string
}

// parseResolvConf reads kubeletResolvConfScript's output.
func parseResolvConf(out string) (resolvConf, error) {
	head, body, _ := strings.Cut(out, "\n")
	rest, ok := strings.CutPrefix(head, "path ")
	path, from, _ := strings.Cut(rest, " (")
	if !ok || path == "" {
		return resolvConf{}, fmt.Errorf("unexpected output reading the kubelet's resolv.conf: %q", head)
	}
	rc := resolvConf{path: path, from: strings.TrimSuffix(from, ")")}
	if strings.TrimSpace(body) == "missing" {
		rc.missing = true
		return rc, nil
	}
	for _, line := range strings.Split(strings.TrimPrefix(body, "---\n"), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			rc.nameservers = append(rc.nameservers, f[1])
		}
	}
	return rc, nil
}

// problem says what is wrong with the file for a pod that resolves through it ("": nothing).
func (rc resolvConf) problem() string {
	switch {
	case rc.missing:
		return fmt.Sprintf("%s is missing: the kubelet cannot set up the DNS of pods of DNS policy Default", rc.path)
	case len(rc.nameservers) == 0:
		return fmt.Sprintf("%s holds no nameserver", rc.path)
	}
	for _, ns := range rc.nameservers {
		if a, err := netip.ParseAddr(ns); err != nil || !a.IsLoopback() {
			return ""
		}
	}
	return fmt.Sprintf("%s's only nameservers (%s) are loopback addresses: inside a pod's network namespace that is the pod itself", rc.path, strings.Join(rc.nameservers, ", "))
}

// Run reads every node's resolv.conf for pods. A broken one fails when CoreDNS forwards to its
// pod's /etc/resolv.conf (and its pods have DNS policy Default); otherwise it is a Warn: pods of
// DNS policy Default and the node's own lookups there get no resolver.
func (p NodeResolvConfBroken) Run(ctx context.Context, c *Cluster) ([]Finding, error) {
	cf, read, self, err := readCorefileAndSelf(ctx, c, p.ID())
	if err != nil {
		return nil, err
	}
	var uses *targetUse
	for _, u := range targetUses(cf) {
		if u.target.File == podResolvConf {
			uses = u
		}
	}
	var policy corev1.DNSPolicy
	if len(self.pods) > 0 {
		policy = self.pods[0].Spec.DNSPolicy
	}
	usesNode := uses != nil && (policy == "" || policy == corev1.DNSDefault)
	var forward Finding // the Corefile lines that read the file, and what they say
	var forwards string
	if usesNode {
		forward, forwards = forwardFinding(p.ID(), uses, cf, read)
	}
	return perNode(ctx, c, func(ctx context.Context, n node.Node) (Finding, error) {
		f := Finding{Check: p.ID(), Node: n.Name(), Object: "file " + podResolvConf}
		out, ev, err := run(ctx, n, "sh", "-c", kubeletResolvConfScript)
		f.Evidence = []Evidence{ev}
		if err != nil {
			return f, fmt.Errorf("%s: %w", p.ID(), err)
		}
		rc, err := parseResolvConf(out)
		if err != nil {
			return f, fmt.Errorf("%s on %s: %w", p.ID(), n.Name(), err)
		}
		f.Object = "file " + rc.path
		what := rc.problem()
		switch {
		case what == "":
			f.Status, f.Summary = Pass, fmt.Sprintf("%s (%s) names nameserver(s) %s", rc.path, rc.from, strings.Join(rc.nameservers, ", "))
		case usesNode:
			f.Evidence = append(f.Evidence, forward.Evidence...)
			f.Status = Fail
			f.Summary = fmt.Sprintf("%s (%s); %s, which in its pods (DNS policy Default) is this file: %s",
				what, rc.from, forwards, p.coreDNSOnNode(ctx, c, self, n.Name(), &f))
		default:
			f.Status = Warn
			f.Summary = fmt.Sprintf("%s (%s): pods of DNS policy Default, host-network pods and the node's own lookups there get no resolver (CoreDNS does not forward to its pods' %s)",
				what, rc.from, podResolvConf)
		}
		return f, nil
	})
}

// coreDNSOnNode says how CoreDNS's pods on nodeName fare, with the last log lines of those that
// crashed as evidence on f (the crash explained, not just reported).
func (p NodeResolvConfBroken) coreDNSOnNode(ctx context.Context, c *Cluster, self *corednsSelf, nodeName string, f *Finding) string {
	var states []string
	for _, pod := range self.pods {
		if pod.Spec.NodeName != nodeName {
			continue
		}
		state := pod.Name + ": " + podState(pod)
		if crashed(pod) {
			if last, ev, ok := lastWords(ctx, c, pod); ok {
				f.Evidence = append(f.Evidence, ev)
				state += fmt.Sprintf(" (last words: %q)", last)
			}
		}
		states = append(states, state)
	}
	if len(states) == 0 {
		return "no CoreDNS pod runs on the node now; one scheduled here cannot start its forward plugin"
	}
	return "CoreDNS cannot start its forward plugin here: " + strings.Join(states, "; ")
}

// crashed reports whether a pod's first container has exited at least once.
func crashed(p corev1.Pod) bool {
	return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].LastTerminationState.Terminated != nil
}

// lastWords reads the last line the pod's previous container wrote.
func lastWords(ctx context.Context, c *Cluster, p corev1.Pod) (string, Evidence, bool) {
	tail := int64(3)
	ev := Evidence{Source: fmt.Sprintf("GET pods/log %s/%s (previous container, last %d lines)", p.Namespace, p.Name, tail)}
	raw, err := c.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Previous: true, TailLines: &tail}).DoRaw(ctx)
	if err != nil {
		return "", ev, false
	}
	ev.Output = strings.TrimSpace(string(raw))
	lines := strings.Split(ev.Output, "\n")
	return lines[len(lines)-1], ev, ev.Output != ""
}

// Plan is manual: the node's resolvers go back into its file (a healthy node's are shown as an
// example), then CoreDNS restarts so its pods copy the file again; or CoreDNS gets an upstream of
// its own.
func (p NodeResolvConfBroken) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	failed := findingsOf(findings, p.ID(), Fail)
	if len(failed) == 0 {
		return plan, nil
	}
	example := ""
	for _, f := range findingsOf(findings, p.ID(), Pass) {
		example = fmt.Sprintf(" (node %s's: %s)", f.Node, f.Summary)
		break
	}
	for _, f := range failed {
		path := strings.TrimPrefix(f.Object, "file ")
		plan.Manual = append(plan.Manual, fmt.Sprintf("on node %s, write the node's DNS servers into %s%s; if a resolver manager (systemd-resolved, NetworkManager, DHCP) writes that file, fix it there so it is not emptied again: netcert does not guess a node's DNS servers",
			f.Node, path, example))
	}
	ns := "--namespace=" + kube.CoreDNSNamespace
	plan.Manual = append(plan.Manual,
		fmt.Sprintf("then restart CoreDNS, whose pods copied the file when they were set up (a crash-looping container does not read it again): kubectl %s rollout restart deployment/%s", ns, kube.CoreDNSDeployment),
		fmt.Sprintf("or make CoreDNS independent of the nodes' file: kubectl %s edit configmap %s, replace `%s` in its forward with an upstream that answers from the cluster network (IP:port), then roll CoreDNS as above", ns, kube.CoreDNSConfigMap, podResolvConf),
	)
	return plan, nil
}

// Apply refuses: the plan is for a person.
func (p NodeResolvConfBroken) Apply(_ context.Context, _ *Cluster, plan Plan) (Record, error) {
	return Record{Check: plan.Check}, refuseManual(plan)
}
