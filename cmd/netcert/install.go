package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netcert/netcert/images"
	"github.com/netcert/netcert/node"
	"github.com/netcert/netcert/podprobe"
)

// workload is one of netcert's in-cluster workloads that the CLI installs and removes.
type workload struct {
	what    string // what it is, for people
	warning string // said before installing, if anything
	image   string // the default image
	install func(ctx context.Context, config *rest.Config, client kubernetes.Interface, image string, timeout time.Duration) error
	remove  func(ctx context.Context, client kubernetes.Interface) error
}

var workloads = map[string]workload{
	"agent": {
		what: fmt.Sprintf("netcert's standing node agent (DaemonSet %s/%s: privileged, in the host's PID and network namespaces; doctor and repair reach the nodes through it with --nodes agent)", node.AgentNamespace, node.AgentName),
		warning: fmt.Sprintf("warning: a standing agent makes anyone allowed pods/exec in namespace %s root on every node until `netcert agent remove`; "+
			"without it, doctor and repair --nodes agent start one for their run and remove it after", node.AgentNamespace),
		image: images.For(images.Local).Agent,
		install: func(ctx context.Context, _ *rest.Config, client kubernetes.Interface, image string, timeout time.Duration) error {
			_, err := node.InstallAgent(ctx, client, image, node.AgentStanding, timeout)
			return err
		},
		remove: func(ctx context.Context, client kubernetes.Interface) error {
			return node.RemoveAgent(ctx, client, time.Minute)
		},
	},
	"probes": {
		what:    fmt.Sprintf("netcert's probes (DaemonSets %s/probe-a and probe-b: the pods the traffic checks send from)", podprobe.Namespace),
		image:   images.For(images.Local).Probe,
		install: podprobe.Install,
		remove:  podprobe.Remove,
	},
}

// workloadCommand is `netcert agent|probes install|remove`.
func workloadCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	w := workloads[name]
	if len(args) == 0 || (args[0] != "install" && args[0] != "remove") {
		fmt.Fprintf(stderr, "usage: netcert %s install|remove [flags]\n  %s\n", name, w.what)
		return exitTrouble
	}
	action := args[0]
	fs := flag.NewFlagSet("netcert "+name+" "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f clusterFlags
	f.register(fs)
	image := fs.String("image", w.image, "the image; the nodes must have it or be able to pull it (kind: `kind load docker-image IMAGE --name NAME`)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait until it runs on every node")
	if err := fs.Parse(args[1:]); err != nil {
		return exitTrouble
	}
	restCfg, client, err := f.connectAPI()
	if err != nil {
		fmt.Fprintf(stderr, "netcert %s %s: %v\n", name, action, err)
		return exitTrouble
	}
	if action == "remove" {
		if err := w.remove(ctx, client); err != nil {
			fmt.Fprintf(stderr, "netcert %s remove: %v\n", name, err)
			return exitTrouble
		}
		fmt.Fprintf(stdout, "removed %s\n", w.what)
		return exitOK
	}
	if w.warning != "" {
		fmt.Fprintln(stderr, w.warning)
	}
	fmt.Fprintf(stderr, "installing %s, image %s; waiting up to %s ...\n", w.what, *image, *timeout)
	start := time.Now()
	if err := w.install(ctx, restCfg, client, *image, *timeout); err != nil {
		fmt.Fprintf(stderr, "netcert %s install: %v\n", name, err)
		return exitTrouble
	}
	fmt.Fprintf(stdout, "netcert %s: running on every node (%s); `netcert %s remove` takes them away\n", name, time.Since(start).Round(100*time.Millisecond), name)
	return exitOK
}
