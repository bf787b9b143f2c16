package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/podprobe"
)

// netcertNamespaces hold only what netcert put on a cluster: its probes, DNS upstream and fault
// workloads, and its agent.
var netcertNamespaces = []string{podprobe.Namespace, node.AgentNamespace}

// cleanCommand is `netcert clean`: with a cluster (--kind, --context), it reverts the faults netcert
// left injected there (from their marks), removes netcert's namespaces (agent, probes), the
// known-good Corefile and netcert's annotation on CoreDNS; with --machine, the kind clusters,
// Docker networks and containers, and kubeconfigs the suites left on this machine. --check only
// lists what is there, and exits 1 when anything is.
func cleanCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	fs := flag.NewFlagSet("netcert clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var t target
	t.register(fs)
	machine := fs.Bool("machine", false, "also (or only, without --kind/--context) clean this machine: kind clusters netcert-*, their Docker networks and containers, netcert's kubeconfigs")
	check := fs.Bool("check", false, "change nothing: list what netcert left, exit 1 when anything is left")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for each namespace to be gone")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return exitTrouble
	}
	onCluster := t.kind != "" || t.context != "" || t.kubeconfig != ""
	if !onCluster && !*machine {
		fmt.Fprintln(stderr, "netcert clean: say what to clean: --kind NAME or --context CTX (a cluster), and/or --machine (this machine)")
		return exitTrouble
	}
	var left []string
	var errs []error
	if onCluster {
		l, err := cleanCluster(ctx, t, *check, *timeout, stdout, stderr, conn)
		left, errs = append(left, l...), append(errs, err)
	}
	if *machine {
		l, err := cleanMachine(ctx, *check, stdout)
		left, errs = append(left, l...), append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "netcert clean: %v\n", err)
		return exitTrouble
	}
	if len(left) > 0 {
		fmt.Fprintf(stdout, "%d thing(s) netcert left: %s\n", len(left), strings.Join(left, "; "))
		return exitFailed
	}
	fmt.Fprintln(stdout, "nothing of netcert's is left")
	return exitOK
}

// cleanCluster reverts the marked faults and removes what netcert installed on the cluster; it
// returns what is left (with check: what is there).
func cleanCluster(ctx context.Context, t target, check bool, timeout time.Duration, stdout, stderr io.Writer, conn connector) ([]string, error) {
	s, err := conn(ctx, t, io.Discard) // clean removes the probes whose absence connect would warn about
	if err != nil {
		return nil, err
	}
	defer s.close(ctx, stderr)
	c := s.cluster
	if c.Client == nil {
		return nil, errors.New("no Kubernetes client")
	}
	fc := &faults.Cluster{Nodes: c.Nodes, Client: c.Client, Dynamic: c.Dynamic, CNI: c.CNI}
	var left []string
	if check {
		marks, err := faults.Marks(ctx, fc)
		left = append(left, marks...)
		if err != nil {
			return left, err
		}
	} else {
		cleaned, err := faults.Clean(ctx, fc)
		for _, what := range cleaned {
			fmt.Fprintf(stdout, "reverted fault %s\n", what)
		}
		if err != nil {
			return left, err
		}
	}
	stale, err := doctor.OverlayPortBlocked{}.StaleGuards(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "warning: could not look for repair rules nothing needs any more: %v\n", err)
	}
	for _, a := range stale.Actions {
		if check {
			left = append(left, fmt.Sprintf("%s on %s (nothing needs it any more)", a.Object, a.Node))
			continue
		}
		if err := runAction(ctx, c.Nodes, a); err != nil {
			return left, err
		}
		fmt.Fprintf(stdout, "removed on %s the repair's ACCEPT %s, which nothing needs any more\n", a.Node, a.Object)
	}
	cm := c.Client.CoreV1().ConfigMaps(kube.CoreDNSNamespace)
	if _, err := cm.Get(ctx, doctor.KnownGoodCorefile, metav1.GetOptions{}); err == nil {
		what := fmt.Sprintf("ConfigMap %s/%s (the known-good Corefile netcert snapshot kept)", kube.CoreDNSNamespace, doctor.KnownGoodCorefile)
		if check {
			left = append(left, what)
		} else if err := cm.Delete(ctx, doctor.KnownGoodCorefile, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return left, fmt.Errorf("delete %s: %w", what, err)
		} else {
			fmt.Fprintf(stdout, "removed %s\n", what)
		}
	}
	if removed, err := kube.RemoveTemplateAnnotation(ctx, c.Client, kube.CoreDNSNamespace, kube.CoreDNSDeployment, kube.CorefileHashAnnotation, check); err != nil {
		return left, err
	} else if removed {
		what := fmt.Sprintf("annotation %s on Deployment %s/%s", kube.CorefileHashAnnotation, kube.CoreDNSNamespace, kube.CoreDNSDeployment)
		if check {
			left = append(left, what)
		} else {
			fmt.Fprintf(stdout, "removed %s (CoreDNS rolls once)\n", what)
		}
	}
	for _, ns := range netcertNamespaces {
		if _, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return left, fmt.Errorf("read namespace %s: %w", ns, err)
		}
		if check {
			left = append(left, "namespace "+ns)
			continue
		}
		if err := kube.DeleteNamespace(ctx, c.Client, ns, timeout); err != nil {
			return left, err
		}
		fmt.Fprintf(stdout, "removed namespace %s\n", ns)
	}
	return left, nil
}

// machineResidue is what the suites leave on this machine, found by name.
type machineResidue struct {
	clusters, containers, networks, files []string
}

// findMachineResidue lists netcert's kind clusters, Docker containers (the suites' hosts, the
// set-up's privileged check) and networks, and kubeconfig files.
func findMachineResidue(ctx context.Context) (machineResidue, error) {
	var r machineResidue
	clusters, err := cluster.NewProvider(cluster.ProviderWithDocker()).List()
	if err != nil {
		return r, fmt.Errorf("list kind clusters: %w", err)
	}
	for _, name := range clusters {
		if strings.HasPrefix(name, "netcert-") {
			r.clusters = append(r.clusters, name)
		}
	}
	if r.containers, err = dockerLines(ctx, "ps", "-a", "--format", "{{.Names}}", "--filter", "label=netcert.cluster"); err != nil {
		return r, err
	}
	check, err := dockerLines(ctx, "ps", "-a", "--format", "{{.Names}}", "--filter", "name=^netcert-privileged-check$")
	if err != nil {
		return r, err
	}
	r.containers = append(r.containers, check...)
	networks, err := dockerLines(ctx, "network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return r, err
	}
	for _, n := range networks {
		if strings.HasPrefix(n, "netcert-") && !slices.Contains(r.clusters, n) {
			r.networks = append(r.networks, n)
		}
	}
	for _, pattern := range []string{"netcert-kubeconfig-netcert-*", "kind-cluster-netcert-*"} {
		files, _ := filepath.Glob(filepath.Join(os.TempDir(), pattern))
		r.files = append(r.files, files...)
	}
	return r, nil
}

// cleanMachine deletes (or with check lists) the machine's residue; it returns what is left.
func cleanMachine(ctx context.Context, check bool, stdout io.Writer) ([]string, error) {
	r, err := findMachineResidue(ctx)
	if err != nil {
		return nil, err
	}
	var left []string
	describe := func(kind string, names []string) {
		for _, n := range names {
			left = append(left, kind+" "+n)
		}
	}
	if check {
		describe("kind cluster", r.clusters)
		describe("Docker container", r.containers)
		describe("Docker network", r.networks)
		describe("file", r.files)
		return left, nil
	}
	provider := cluster.NewProvider(cluster.ProviderWithDocker())
	for _, name := range r.clusters {
		if err := provider.Delete(name, ""); err != nil {
			return nil, fmt.Errorf("delete kind cluster %s: %w", name, err)
		}
		fmt.Fprintf(stdout, "deleted kind cluster %s\n", name)
	}
	for _, name := range r.containers {
		if _, err := dockerLines(ctx, "rm", "-f", name); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "removed Docker container %s\n", name)
	}
	// A suite's network is named after its cluster; kind leaves it when the cluster goes.
	networks, err := dockerLines(ctx, "network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return nil, err
	}
	for _, n := range networks {
		if strings.HasPrefix(n, "netcert-") {
			if _, err := dockerLines(ctx, "network", "rm", n); err != nil {
				return nil, err
			}
			fmt.Fprintf(stdout, "removed Docker network %s\n", n)
		}
	}
	for _, f := range r.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		fmt.Fprintf(stdout, "removed %s\n", f)
	}
	return nil, nil
}

// dockerLines runs the docker CLI and returns its non-empty output lines.
func dockerLines(ctx context.Context, args ...string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// runAction runs the commands of a on its node.
func runAction(ctx context.Context, nodes []node.Node, a doctor.Action) error {
	i := slices.IndexFunc(nodes, func(n node.Node) bool { return n.Name() == a.Node })
	if i < 0 {
		return fmt.Errorf("no node %s", a.Node)
	}
	for _, argv := range a.Argv {
		if _, err := node.Run(ctx, nodes[i], argv...); err != nil {
			return err
		}
	}
	return nil
}
