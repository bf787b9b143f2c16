package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcert/netcert/certify"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/images"
	"github.com/netcert/netcert/podprobe"
	"github.com/netcert/netcert/reports"
)

// certifyCommand is `netcert certify`: every check and the traffic matrix against a running
// cluster, written as the suites' reports (JUnit, JSON, HTML, Markdown); faults only with
// --inject and the nodes they may touch (--allow-nodes).
func certifyCommand(ctx context.Context, args []string, stdout, stderr io.Writer, conn connector) int {
	var out, inject, allow, probeImage *string
	var keepProbes *bool
	_, s, exit := start(ctx, "certify", args, stderr, conn, func(fs *flag.FlagSet) func([]string) error {
		out = fs.String("out", "netcert-certify", "the directory the reports go to (certify.json, .junit.xml, .html, .md)")
		inject = fs.String("inject", "", "comma-separated faults to inject, one after the other, each reverted before the next ("+strings.Join(certify.Injectable(), ", ")+"); none by default")
		allow = fs.String("allow-nodes", "", "comma-separated nodes the faults may touch (required with --inject; the first one is used)")
		probeImage = fs.String("probe-image", images.For(images.Local).Probe, "the probe pods' image when certify installs them for the run")
		keepProbes = fs.Bool("keep-probes", false, "leave the probe pods certify installs for the run")
		return nil
	})
	if s == nil {
		return exit
	}
	defer s.close(ctx, stderr)
	opt := certify.Options{Problems: s.problems, Inject: splitList(*inject), Nodes: splitList(*allow), Log: stderr}
	var names []string
	for _, n := range s.cluster.Nodes {
		names = append(names, n.Name())
	}
	if err := opt.Validate(names); err != nil {
		fmt.Fprintf(stderr, "netcert certify: %v\n", err)
		return exitTrouble
	}
	if removeProbes, err := probesForRun(ctx, s, *probeImage, *keepProbes, stderr); err != nil {
		fmt.Fprintf(stderr, "netcert certify: %v\n", err)
		return exitTrouble
	} else {
		defer removeProbes()
	}
	rec := reports.NewRecorder("certify", s.cluster.CNI)
	rec.SetEnvironment(clusterEnvironment(ctx, s))
	start := time.Now()
	c := s.cluster
	err := certify.Run(ctx, c, &faults.Cluster{Nodes: c.Nodes, Client: c.Client, Dynamic: c.Dynamic, CNI: c.CNI}, opt, rec)
	if err != nil {
		rec.Interrupted()
	}
	rep := rec.Report()
	files, werr := reports.WriteFiles(*out, "certify", rep)
	if werr != nil {
		fmt.Fprintf(stderr, "netcert certify: write the reports: %v\n", werr)
		return exitTrouble
	}
	run := rep.Runs[0]
	fmt.Fprintf(stdout, "certification %s in %s: %d case(s); reports: %s\n", run.Status, time.Since(start).Round(time.Second), len(run.Cases), strings.Join(files, ", "))
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "netcert certify: %v\n", err)
		return exitTrouble
	case run.Status != reports.StatusPassed:
		return exitFailed
	}
	return exitOK
}

// probesForRun installs netcert's probe pods when none run, and returns what removes them again
// (nothing when they were there, or keep).
func probesForRun(ctx context.Context, s *session, image string, keep bool, log io.Writer) (func(), error) {
	noop := func() {}
	if s.cluster.Client == nil {
		return noop, nil
	}
	if running, err := podprobe.RunningPods(ctx, s.cluster.Client); err == nil && len(running) > 0 {
		return noop, nil
	}
	fmt.Fprintf(log, "installing netcert's probe pods for this run (namespace %s, image %s) ...\n", podprobe.Namespace, image)
	if err := podprobe.Install(ctx, s.config, s.cluster.Client, image, 2*time.Minute); err != nil {
		return noop, err
	}
	if keep {
		return noop, nil
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := podprobe.Remove(rctx, s.cluster.Client); err != nil {
			fmt.Fprintf(log, "warning: remove the probe pods: %v (`netcert probes remove`)\n", err)
		}
	}, nil
}

// clusterEnvironment is what the report says the cluster runs.
func clusterEnvironment(ctx context.Context, s *session) reports.Environment {
	env := reports.Environment{CNI: s.cluster.CNI, NodeCount: len(s.cluster.Nodes), KubernetesVersion: "unknown", NetcertCommit: "unknown", Images: "n/a"}
	if s.cluster.Client == nil {
		return env
	}
	if v, err := s.cluster.Client.Discovery().ServerVersion(); err == nil {
		env.KubernetesVersion = v.GitVersion
	}
	if nodes, err := s.cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil && len(nodes.Items) > 0 {
		env.KernelVersion = nodes.Items[0].Status.NodeInfo.KernelVersion
	}
	return env
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
