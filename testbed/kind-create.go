package testbed

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// createAttempts: kind and kubeadm now and then fail to bring a node up on a loaded machine
// (seen once in CI: the API server did not list the control plane within five minutes), so a
// failed creation is deleted and tried once more, with the failed attempt's kind logs kept.
const createAttempts = 2

// registerTimeout bounds the wait, after `kind create cluster`, for every node to register.
const registerTimeout = 3 * time.Minute

// createKind creates the kind cluster, printing kind's own progress lines, points envCfg at its
// kubeconfig and returns once every node has registered with the API server.
func (c *Cluster) createKind(ctx context.Context, envCfg *envconf.Config) error {
	var err error
	var kept []string
	for attempt := 1; attempt <= createAttempts; attempt++ {
		if err = c.createKindOnce(ctx, envCfg); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		logs := c.exportKindLogs(ctx, fmt.Sprintf("attempt-%d", attempt))
		if logs.dir != "" {
			kept = append(kept, logs.dir)
		}
		c.cfg.Logf("attempt %d of %d to create kind cluster %s failed: %v (kind logs: %s)", attempt, createAttempts, c.cfg.Name, err, logs)
		if _, derr := run(ctx, c.kind, "delete", "cluster", "--name", c.cfg.Name); derr != nil {
			return fmt.Errorf("%w; deleting the failed cluster failed too: %v", err, derr)
		}
	}
	if len(kept) > 0 {
		err = fmt.Errorf("%w (kind logs: %s)", err, strings.Join(kept, ", "))
	}
	return fmt.Errorf("create kind cluster %s (%d attempts): %w", c.cfg.Name, createAttempts, err)
}

func (c *Cluster) createKindOnce(ctx context.Context, envCfg *envconf.Config) error {
	clusters, err := run(ctx, c.kind, "get", "clusters")
	if err != nil {
		return err
	}
	if slices.Contains(strings.Fields(clusters), c.cfg.Name) {
		c.cfg.Logf("reusing the kept cluster %s (delete it with: make clean-clusters)", c.cfg.Name)
	} else {
		cmd := exec.CommandContext(ctx, c.kind, "create", "cluster", "--name", c.cfg.Name,
			"--config", c.cfg.KindConfig, "--image", c.cfg.Images.Node)
		if err := c.runLogged(cmd); err != nil {
			return fmt.Errorf("kind create cluster: %w", err)
		}
	}
	kubeconfig, err := c.writeKubeconfig(ctx)
	if err != nil {
		return err
	}
	envCfg.WithKubeconfigFile(kubeconfig)
	nodes, err := c.kindNodes(ctx)
	if err != nil {
		return err
	}
	return c.waitRegistered(ctx, envCfg, len(nodes))
}

// kindNodes lists the names of the cluster's node containers (kind says "No kind nodes found"
// on standard error when there are none).
func (c *Cluster) kindNodes(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, c.kind, "get", "nodes", "--name", c.cfg.Name).Output()
	if err != nil {
		return nil, fmt.Errorf("kind get nodes --name %s: %w", c.cfg.Name, err)
	}
	return strings.Fields(string(out)), nil
}

// runLogged runs cmd and logs the lines that kind prints when a step ends (✓, ✗) or fails; the
// error carries the last lines of all it printed.
func (c *Cluster) runLogged(cmd *exec.Cmd) error {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	var tail []string
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if line == "" {
			continue
		}
		if kindProgress(line) {
			c.cfg.Logf("  kind: %s", line)
		}
		tail = append(tail, line)
		if len(tail) > 5 {
			tail = tail[1:]
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.Join(tail, " | "))
	}
	return nil
}

// kindProgress: a step that ended, or an error; not kind's start lines, hints and warnings.
func kindProgress(line string) bool {
	return strings.HasPrefix(line, "✓") || strings.HasPrefix(line, "✗") || strings.Contains(line, "ERROR")
}

// writeKubeconfig writes the cluster's kubeconfig to a temporary file of its own (Teardown
// removes it), replacing the one of an earlier attempt.
func (c *Cluster) writeKubeconfig(ctx context.Context) (string, error) {
	kubeconfig, err := run(ctx, c.kind, "get", "kubeconfig", "--name", c.cfg.Name)
	if err != nil {
		return "", err
	}
	c.removeKubeconfig()
	f, err := os.CreateTemp("", "netcert-kubeconfig-"+c.cfg.Name+"-")
	if err != nil {
		return "", fmt.Errorf("kubeconfig file: %w", err)
	}
	defer f.Close()
	c.kubeconfig = f.Name()
	if _, err := f.WriteString(kubeconfig); err != nil {
		return "", fmt.Errorf("kubeconfig file: %w", err)
	}
	return f.Name(), nil
}

func (c *Cluster) removeKubeconfig() {
	if c.kubeconfig != "" {
		_ = os.Remove(c.kubeconfig)
		c.kubeconfig = ""
	}
}

// waitRegistered waits for the API server to list want nodes and says what was missing if not.
func (c *Cluster) waitRegistered(ctx context.Context, envCfg *envconf.Config, want int) error {
	start := time.Now()
	r := envCfg.Client().Resources()
	var seen int
	var lastErr error
	err := wait.For(func(ctx context.Context) (bool, error) {
		var nodes corev1.NodeList
		if lastErr = r.List(ctx, &nodes); lastErr != nil {
			return false, nil // the API server may still be starting
		}
		seen = len(nodes.Items)
		return seen >= want, nil
	}, wait.WithContext(ctx), wait.WithTimeout(registerTimeout), wait.WithInterval(2*time.Second))
	if err != nil {
		if lastErr != nil {
			return fmt.Errorf("the API server did not answer within %s: %w", registerTimeout, lastErr)
		}
		return fmt.Errorf("%d of %d nodes registered within %s", seen, want, registerTimeout)
	}
	c.cfg.Logf("%d nodes registered (waited %s)", want, since(start))
	return nil
}

// kindLogs says where exportKindLogs kept the logs, or why it kept none.
type kindLogs struct{ dir, none string }

func (l kindLogs) String() string {
	if l.dir != "" {
		return l.dir
	}
	return "none, " + l.none
}

// exportKindLogs keeps kind's logs of the cluster (nodes' journals, containers, pods) under
// reports/out/kind-logs/<cluster>-<label>.
func (c *Cluster) exportKindLogs(ctx context.Context, label string) kindLogs {
	if nodes, err := c.kindNodes(ctx); err != nil || len(nodes) == 0 {
		return kindLogs{none: "kind left no node"}
	}
	dir := filepath.Join(outDir("kind-logs"), c.cfg.Name+"-"+label)
	_, err := run(ctx, c.kind, "export", "logs", dir, "--name", c.cfg.Name)
	// kind exits non-zero when one of its commands fails (the node image has no crictl), having
	// written the rest: the journals, the containers' and pods' logs.
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return kindLogs{dir: dir}
	}
	if err != nil {
		return kindLogs{none: err.Error()}
	}
	return kindLogs{none: "kind wrote nothing"}
}

// loadImages copies into every node of the cluster the local images its node image lacks (or
// holds in another build), at once: one archive whose shared layers travel once, imported on the
// nodes side by side. It returns the images it loaded.
func (c *Cluster) loadImages(ctx context.Context, images []string) ([]string, error) {
	label, err := run(ctx, "docker", "image", "inspect", "-f", `{{index .Config.Labels "`+preloadedLabel+`"}}`, c.cfg.Images.Node)
	if err != nil {
		return nil, fmt.Errorf("read the node image %s: %w", c.cfg.Images.Node, err)
	}
	var load []string
	for _, image := range images {
		id, err := run(ctx, "docker", "image", "inspect", "-f", "{{.Id}}", image)
		if err != nil {
			return nil, fmt.Errorf("image %s is not on this machine (make setup builds it): %w", image, err)
		}
		if !preloaded(label, image, id) {
			load = append(load, image)
		}
	}
	if len(load) == 0 {
		return nil, nil
	}
	if _, err := run(ctx, c.kind, append([]string{"load", "docker-image", "--name", c.cfg.Name}, load...)...); err != nil {
		return nil, fmt.Errorf("load %s into the cluster: %w", strings.Join(load, ", "), err)
	}
	return load, nil
}

// preloadedLabel lists, on a node image `make setup` built, the images it holds as "REF@ID"
// (images/build/images.sh).
const preloadedLabel = "netcert.preloaded"

// preloaded reports whether the node image's label lists image with Docker image ID id.
func preloaded(label, image, id string) bool {
	return slices.Contains(strings.Fields(label), image+"@"+strings.TrimSpace(id))
}
