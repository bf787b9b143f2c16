package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/netcert/netcert/images"
	"github.com/netcert/netcert/node"
)

// agentCommand installs or removes netcert's node agent: `netcert agent install|remove`.
func agentCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "install" && args[0] != "remove") {
		fmt.Fprintln(stderr, "usage: netcert agent install|remove [flags]")
		return exitTrouble
	}
	action := args[0]
	fs := flag.NewFlagSet("netcert agent "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f clusterFlags
	f.register(fs)
	image := fs.String("image", images.For(images.Local).Agent, "the agent image; the nodes must have it or be able to pull it (kind: `kind load docker-image IMAGE --name NAME`)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for an agent on every node")
	if err := fs.Parse(args[1:]); err != nil {
		return exitTrouble
	}
	_, client, err := f.connectAPI()
	if err != nil {
		fmt.Fprintf(stderr, "netcert agent %s: %v\n", action, err)
		return exitTrouble
	}
	if action == "remove" {
		if err := node.RemoveAgent(ctx, client); err != nil {
			fmt.Fprintf(stderr, "netcert agent remove: %v\n", err)
			return exitTrouble
		}
		fmt.Fprintf(stdout, "removed DaemonSet %s/%s\n", node.AgentNamespace, node.AgentName)
		return exitOK
	}
	fmt.Fprintf(stderr, "installing DaemonSet %s/%s (image %s; privileged, in the host's PID and network namespaces) and waiting up to %s ...\n",
		node.AgentNamespace, node.AgentName, *image, *timeout)
	start := time.Now()
	if err := node.InstallAgent(ctx, client, *image, *timeout); err != nil {
		fmt.Fprintf(stderr, "netcert agent install: %v\n", err)
		return exitTrouble
	}
	fmt.Fprintf(stdout, "netcert's agent runs on every node (%s); `netcert doctor --nodes agent` reaches the nodes through it; `netcert agent remove` takes it away\n",
		time.Since(start).Round(100*time.Millisecond))
	return exitOK
}
