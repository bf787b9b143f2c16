package testbed

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/netcert/netcert/reports"
)

// Cluster is one test cluster's life cycle, as e2e-framework environment functions.
type Cluster struct {
	cfg        Config
	kind       string // path of the pinned kind binary
	kubeconfig string // the temporary kubeconfig file Setup wrote

	teardown sync.Mutex // serialises Teardown between the suite and the interrupt handler
	deleted  bool

	rec *reports.Recorder // what the suite run did, for its report
}

// New returns the life cycle of the cluster that cfg describes.
func New(cfg Config) *Cluster {
	c := &Cluster{cfg: cfg, rec: reports.NewRecorder(reportName(cfg.Name), cfg.CNI)}
	c.rec.SetEnvironment(c.knownEnvironment(context.Background()))
	return c
}

// Config returns the cluster's configuration.
func (c *Cluster) Config() Config { return c.cfg }

// Setup creates the cluster and returns once the CNI, every node, CoreDNS and netcert's own
// workloads are Ready, and records how long that took (or why it failed) and what the cluster
// runs. Use it as an e2e-framework Setup function.
func (c *Cluster) Setup(ctx context.Context, envCfg *envconf.Config) (context.Context, error) {
	start := time.Now()
	ctx, err := c.setup(ctx, envCfg)
	c.rec.Infrastructure(time.Since(start), err)
	if err == nil {
		c.recordEnvironment(ctx, envCfg)
	}
	return ctx, err
}

func (c *Cluster) setup(ctx context.Context, envCfg *envconf.Config) (context.Context, error) {
	logf := c.cfg.Logf
	if err := checkHost(ctx, c.cfg); err != nil {
		return ctx, err
	}
	var err error
	if c.kind, err = buildKind(ctx); err != nil {
		return ctx, err
	}
	c.deleteOnInterrupt()
	// A network per cluster, so deleting the cluster can delete its network too.
	if err := os.Setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", c.cfg.Name); err != nil {
		return ctx, err
	}
	// netcert creates the network, so that its subnet is known and addresses can be given out in it.
	if err := c.createNetwork(ctx); err != nil {
		return ctx, err
	}
	c.cfg.Logf("Docker network %s has subnet %s", c.cfg.Name, c.cfg.NodeSubnet)

	start := time.Now()
	logf("creating kind cluster %s (%s images, node image %s)", c.cfg.Name, c.cfg.Images.Mode, c.cfg.Images.Node)
	if err := c.createKind(ctx, envCfg); err != nil {
		return ctx, err
	}
	logf("kind cluster created in %s", since(start))

	t := time.Now()
	local := c.cfg.Images.LocalImages(c.cfg.CNI)
	loaded, err := c.loadImages(ctx, local)
	if err != nil {
		return ctx, err
	}
	if len(loaded) == 0 {
		logf("the node image holds %s: nothing to load", strings.Join(local, ", "))
	} else {
		logf("loaded %s in %s (the node image lacks them, or holds other builds)", strings.Join(loaded, ", "), since(t))
	}
	if err := c.bringUp(ctx, envCfg); err != nil {
		if ctx.Err() == nil {
			logf("kind logs of the cluster that did not come up: %s", c.exportKindLogs(ctx, "not-ready"))
		}
		return ctx, err
	}
	logf("cluster Ready in %s (CNI %s, every node, CoreDNS and netcert probes Ready)", since(start), c.cfg.CNI)
	return ctx, nil
}

// bringUp installs the CNI and netcert's workloads on the new cluster and waits for them.
func (c *Cluster) bringUp(ctx context.Context, envCfg *envconf.Config) error {
	if err := c.install(ctx, envCfg); err != nil {
		return err
	}
	if err := c.waitReady(ctx, envCfg); err != nil {
		return err
	}
	if err := c.requireKubeProxyMode(ctx, envCfg); err != nil {
		return err
	}
	return c.startNetworkHost(ctx, envCfg.Client().Resources())
}

// Teardown deletes the cluster and its Docker network, unless the user asked to keep them; a kept
// cluster gets the faults still injected (after an interrupt) reverted from their marks. It does
// not depend on Setup having succeeded. Use it as an e2e-framework Finish function.
func (c *Cluster) Teardown(ctx context.Context, envCfg *envconf.Config) (context.Context, error) {
	if c.cfg.Keep {
		c.revertMarkedFaults(ctx) // an interrupt skips the faults' own reverts: their marks remain
		c.removeKubeconfig()      // kubectl reaches the kept cluster through kind's context kind-<name>
		c.cfg.Logf("keeping cluster %s and its Docker network (%s=1; kubectl --context kind-%s); delete them with: make clean-clusters",
			c.cfg.Name, KeepEnv, c.cfg.Name)
		return ctx, nil
	}
	c.teardown.Lock()
	defer c.teardown.Unlock()
	if c.kind == "" || c.deleted {
		return ctx, nil // nothing created yet, or already deleted
	}
	start := time.Now()
	if err := deleteCluster(ctx, c.kind, c.cfg); err != nil {
		return ctx, err
	}
	c.deleted = true
	c.removeKubeconfig()
	c.cfg.Logf("deleted cluster %s and its Docker network in %s", c.cfg.Name, since(start))
	return ctx, nil
}

// live are the clusters that an interrupt must delete; one signal handler serves them all.
var live struct {
	sync.Mutex
	clusters []*Cluster
	handler  sync.Once
}

// deleteOnInterrupt deletes the cluster when the run is interrupted (SIGINT, SIGTERM) and shortly
// before `go test -timeout` would kill the process.
func (c *Cluster) deleteOnInterrupt() {
	live.Lock()
	live.clusters = append(live.clusters, c)
	live.Unlock()
	live.handler.Do(func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
		go func() {
			sig := <-signals
			live.Lock()
			defer live.Unlock()
			for _, c := range live.clusters {
				c.interrupted("interrupted by " + sig.String())
			}
			os.Exit(130)
		}()
	})
	if f := flag.Lookup("test.timeout"); f != nil {
		if timeout, err := time.ParseDuration(f.Value.String()); err == nil && timeout > 3*time.Minute {
			time.AfterFunc(timeout-2*time.Minute, func() { c.interrupted("go test -timeout is about to expire") })
		}
	}
}

// interrupted writes the run's report, marked interrupted, then tears the cluster down.
func (c *Cluster) interrupted(why string) {
	c.rec.Interrupted()
	writeReport(c.rec, c.cfg.Logf)
	c.cleanup(why)
}

// cleanup tears the cluster down after an interrupt, with a deadline of its own.
func (c *Cluster) cleanup(why string) {
	c.cfg.Logf("%s: cleaning up", why)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Teardown(ctx, nil); err != nil {
		c.cfg.Logf("cleanup failed: %v", err)
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// createNetwork creates the cluster's Docker network, in the configured subnet or else in a free
// one; suites that start together may pick the same free subnet, and the one that loses picks
// again.
func (c *Cluster) createNetwork(ctx context.Context) error {
	pick := c.cfg.NodeSubnet == ""
	for attempt := 1; ; attempt++ {
		if pick {
			var err error
			if c.cfg.NodeSubnet, err = nodeSubnet(ctx, c.cfg.Name); err != nil {
				return err
			}
		}
		err := createNetwork(ctx, c.cfg)
		if err == nil {
			return nil
		}
		if !pick || attempt == 5 || !strings.Contains(err.Error(), "Pool overlaps") {
			return fmt.Errorf("create the Docker network of %s: %w", c.cfg.Name, err)
		}
		c.cfg.Logf("subnet %s was taken meanwhile (another cluster's network): picking again", c.cfg.NodeSubnet)
	}
}
