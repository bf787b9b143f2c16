package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/images"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/podprobe"
)

// clusterFlags say which cluster: its kubeconfig context and, for a kind cluster, its name.
type clusterFlags struct {
	kind       string // kind cluster name
	kubeconfig string
	context    string
}

func (f *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "kind", "", "a kind cluster on this machine: its context is kind-<name>, and its nodes are reached with docker exec unless --nodes agent")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&f.context, "context", "", "kubeconfig context (default: kind-<name> with --kind, else the current context)")
}

// connectAPI returns the REST config and a client of the cluster, once its API server answers.
func (f clusterFlags) connectAPI() (*rest.Config, kubernetes.Interface, error) {
	kubeContext := f.context
	if kubeContext == "" && f.kind != "" {
		kubeContext = "kind-" + f.kind
	}
	restCfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: f.kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig (context %q): %w (kind writes the context kind-<name> when it creates a cluster: `kind export kubeconfig --name <name>`; or pass --kubeconfig/--context)", kubeContext, err)
	}
	restCfg = kube.Throughput(restCfg)
	restCfg.Timeout = 30 * time.Second // every API call
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if _, err := client.Discovery().ServerVersion(); err != nil {
		return nil, nil, fmt.Errorf("the API server (context %q) does not answer: %w", kubeContext, err)
	}
	return restCfg, client, nil
}

// target is the cluster to look at and what to run, from the flags doctor and repair share.
type target struct {
	clusterFlags
	nodes   string // kind or agent: how nodes are reached
	cni     string // auto, flannel or calico
	checks  string // comma-separated check IDs; empty: all
	dnsName string // the name coredns-forward-broken asks the forward targets for
	outside string // the container that sends external-to-nodeport; "none": not probed
	// nodeTimeout bounds each node command: a hung exec is "could not evaluate", not a hang.
	nodeTimeout time.Duration
	agentImage  string // the agent's image, when netcert starts one for the run
	keepAgent   bool   // leave the agent netcert started
	recordNodes string // a directory for every node command and its answer
	verbose     bool
}

func (t *target) register(fs *flag.FlagSet) {
	t.clusterFlags.register(fs)
	fs.StringVar(&t.nodes, "nodes", "", "how nodes are reached: kind (docker exec; the default with --kind) or agent (netcert's agent pods: a standing one (`netcert agent install`), else one started for this run and removed after it; the default otherwise)")
	fs.StringVar(&t.agentImage, "agent-image", images.For(images.Local).Agent, "the agent's image when netcert starts one for the run (REPO@sha256:DIGEST pins it); the nodes must have it or be able to pull it")
	fs.BoolVar(&t.keepAgent, "keep-agent", false, "leave the agent netcert starts for this run on the cluster (standing: `netcert agent remove` removes it)")
	fs.StringVar(&t.cni, "cni", "auto", "the cluster's CNI: auto (from its DaemonSets), flannel or calico")
	fs.StringVar(&t.checks, "checks", "", "comma-separated check IDs to run (default: all: "+strings.Join(problemIDs(doctor.Problems()), ", ")+")")
	fs.StringVar(&t.dnsName, "dns-name", doctor.DefaultQueryName, "the name coredns-forward-broken asks CoreDNS's upstreams for: one they answer with a record (the default is the test bed's own zone)")
	fs.StringVar(&t.outside, "outside", "", "a Docker container on this machine, outside the cluster, with netcert's probe image, that sends external-to-nodeport (default with --kind: the test bed's node-network host <name>-host if it runs; none: the NodePort path is not probed)")
	fs.DurationVar(&t.nodeTimeout, "node-timeout", time.Minute, "the longest one command on a node may take (docker exec or the agent's pod exec); one that takes longer is ended and its check says it could not evaluate")
	fs.StringVar(&t.recordNodes, "record-nodes", "", "write every command run on each node, with its output and duration, to DIR/<node>.json (for a bug report, or to replay the nodes in the scale benchmark)")
	fs.BoolVar(&t.verbose, "v", false, "print the evidence of every finding and the commands of every action")
}

// session is a connected target: the cluster the checks look at and the problems to run.
type session struct {
	cluster  *doctor.Cluster
	problems []doctor.Problem
	release  func(context.Context) error // undoes what connecting started (the run's agent)
	recorded []*node.Recorder            // the nodes whose commands are written at close (--record-nodes)
	nodes    []node.Node                 // closed at close (their shell sessions)
	recordTo string
	identity string       // which cluster: its API server
	config   *rest.Config // how to reach it
}

// agentRemoveTimeout bounds the removal of the run's agent, also after Ctrl-C.
const agentRemoveTimeout = time.Minute

// close releases what the session started, also when ctx was cancelled (Ctrl-C).
func (s *session) close(ctx context.Context, stderr io.Writer) {
	for _, r := range s.recorded {
		if path, err := r.WriteTo(s.recordTo); err != nil {
			fmt.Fprintf(stderr, "warning: record %s's commands: %v\n", r.Name(), err)
		} else {
			fmt.Fprintf(stderr, "recorded %d command(s) of %s in %s\n", len(r.Calls()), r.Name(), path)
		}
	}
	s.recorded = nil
	node.Close(s.nodes)
	if s.release == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), agentRemoveTimeout)
	defer cancel()
	if err := s.release(ctx); err != nil {
		fmt.Fprintf(stderr, "warning: %v (`netcert agent remove` removes it)\n", err)
	}
}

// connect reaches the cluster: its API through the kubeconfig, its nodes (through kind or
// netcert's agent), its CNI and netcert's probe pods. It fails with what to do when any of them
// is missing.
func connect(ctx context.Context, t target, stderr io.Writer) (*session, error) {
	problems, err := selectProblems(doctor.Problems(), t.checks)
	if err != nil {
		return nil, err
	}
	for i, p := range problems {
		switch p.(type) {
		case doctor.CoreDNSForwardBroken:
			problems[i] = doctor.CoreDNSForwardBroken{QueryName: t.dnsName}
		case doctor.CoreDNSLoop:
			problems[i] = doctor.CoreDNSLoop{QueryName: t.dnsName}
		}
	}
	if t.cni != "auto" && t.cni != "flannel" && t.cni != "calico" {
		return nil, fmt.Errorf("--cni %s: netcert knows flannel and calico (or auto: read it from the cluster)", t.cni)
	}
	nodeAccess := t.nodes
	if nodeAccess == "" {
		nodeAccess = "agent"
		if t.kind != "" {
			nodeAccess = "kind"
		}
	}
	if nodeAccess != "kind" && nodeAccess != "agent" {
		return nil, fmt.Errorf("--nodes %s: want kind or agent", nodeAccess)
	}
	if nodeAccess == "kind" && t.kind == "" {
		return nil, errors.New("--nodes kind needs --kind NAME (`kind get clusters` lists them)")
	}
	restCfg, client, err := t.connectAPI()
	if err != nil {
		return nil, err
	}
	s := &session{problems: problems, identity: restCfg.Host, config: restCfg}
	var nodes []node.Node
	if nodeAccess == "kind" {
		nodes, err = node.KindNodes(t.kind)
	} else {
		nodes, s.release, err = node.EnsureAgent(ctx, restCfg, client, t.agentImage, 2*time.Minute, t.keepAgent, stderr)
	}
	if err != nil {
		return nil, err
	}
	for i, n := range nodes {
		nodes[i] = node.WithDeadline(n, t.nodeTimeout)
		if t.recordNodes != "" {
			r := node.Record(nodes[i])
			s.recorded, s.recordTo, nodes[i] = append(s.recorded, r), t.recordNodes, r
		}
	}
	s.nodes = nodes
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		s.close(ctx, stderr)
		return nil, fmt.Errorf("dynamic kubernetes client: %w", err)
	}
	cni := t.cni
	if cni == "auto" {
		if cni, err = detectCNI(ctx, client); err != nil {
			s.close(ctx, stderr)
			return nil, err
		}
	}
	if running, err := podprobe.RunningPods(ctx, client); err != nil || len(running) == 0 {
		fmt.Fprintf(stderr, "warning: netcert's probe pods are not running (namespace %s): the checks that send traffic from them (overlay-port-blocked, coredns-forward-broken, traffic-path-broken) cannot evaluate: `netcert probes install`\n", podprobe.Namespace)
	}
	prober := &podprobe.Prober{Config: restCfg, Client: client}
	if host := t.outsideHost(ctx); host != "" {
		prober.Outside, prober.OutsideAddr = podprobe.DockerOutside(host), podprobe.ContainerAddr(ctx, host)
	}
	// Repairs say what they do as they go (evictions, waits for budgets) on standard error.
	progress := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s.cluster = &doctor.Cluster{Nodes: nodes, Client: client, Dynamic: dyn, CNI: cni, Probe: prober, Traffic: prober, Log: progress}
	return s, nil
}

// outsideHost names the container that sends from outside the cluster: --outside, or with --kind
// the test bed's node-network host when it runs; "" for none.
func (t target) outsideHost(ctx context.Context) string {
	switch {
	case t.outside == "none":
		return ""
	case t.outside != "":
		return t.outside
	case t.kind == "":
		return ""
	}
	name := t.kind + "-host"
	out, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--filter", "name=^"+name+"$").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return ""
	}
	return name
}

// detectCNI names the CNI from the DaemonSets that run it.
func detectCNI(ctx context.Context, client kubernetes.Interface) (string, error) {
	list, err := client.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list DaemonSets to tell the CNI: %w (or pass --cni)", err)
	}
	var names, found []string
	for _, ds := range list.Items {
		names = append(names, ds.Namespace+"/"+ds.Name)
		switch {
		case strings.Contains(ds.Name, "calico-node"):
			found = append(found, "calico")
		case strings.Contains(ds.Name, "flannel"):
			found = append(found, "flannel")
		}
	}
	slices.Sort(found)
	found = slices.Compact(found)
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("cannot tell the CNI: no calico-node or flannel DaemonSet among %s; netcert knows Flannel and Calico (pass --cni to say which)", strings.Join(names, ", "))
	default:
		return "", fmt.Errorf("cannot tell the CNI: both Calico and Flannel DaemonSets run; pass --cni")
	}
}

// selectProblems keeps the problems whose IDs are listed (all when ids is empty).
func selectProblems(all []doctor.Problem, ids string) ([]doctor.Problem, error) {
	if strings.TrimSpace(ids) == "" {
		return all, nil
	}
	var out []doctor.Problem
	for _, id := range strings.Split(ids, ",") {
		id = strings.TrimSpace(id)
		i := slices.IndexFunc(all, func(p doctor.Problem) bool { return p.ID() == id })
		if i < 0 {
			return nil, fmt.Errorf("--checks: no check %q (known: %s)", id, strings.Join(problemIDs(all), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func problemIDs(problems []doctor.Problem) []string {
	ids := make([]string, len(problems))
	for i, p := range problems {
		ids[i] = p.ID()
	}
	return ids
}
