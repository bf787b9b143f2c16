package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/netcert/netcert/images"
)

// run runs a host command and returns its combined output, with the output in the error.
func run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// checkHost fails with what to do when there is no Docker engine or a local image is missing.
func checkHost(ctx context.Context, cfg Config) error {
	if _, err := run(ctx, "docker", "info"); err != nil {
		return fmt.Errorf("no Docker engine answers (run `sudo make setup` first): %w", err)
	}
	need := cfg.Images.LocalImages()
	if cfg.Images.Mode == images.Local {
		need = append(need, cfg.Images.Node)
	}
	for _, image := range need {
		if _, err := run(ctx, "docker", "image", "inspect", image); err != nil {
			return fmt.Errorf("image %s is missing: run `sudo make setup` to build it", image)
		}
	}
	return nil
}

// buildKind builds the kind binary at the version in go.mod into the user's cache and returns its
// path, so the e2e-framework never installs a kind of its own.
func buildKind(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("user cache directory: %w", err)
	}
	path := filepath.Join(cache, "netcert", "bin", "kind")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "sigs.k8s.io/kind")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kind from go.mod: %w: %s", err, out)
	}
	return path, nil
}

// createNetwork creates the cluster's Docker network with cfg.NodeSubnet, as kind would create it
// (a bridge that masquerades), so that kind uses it; it refuses a network of that name that is
// already there with another subnet.
func createNetwork(ctx context.Context, cfg Config) error {
	out, err := run(ctx, "docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", cfg.Name)
	if err == nil {
		if !slices.Contains(strings.Fields(out), cfg.NodeSubnet) {
			return fmt.Errorf("docker network %s exists with subnet(s) %q, not %s: delete it with `docker network rm %s` (or make clean-clusters)",
				cfg.Name, strings.TrimSpace(out), cfg.NodeSubnet, cfg.Name)
		}
		return nil
	}
	_, err = run(ctx, "docker", "network", "create", "--driver", "bridge", "--subnet", cfg.NodeSubnet,
		"-o", "com.docker.network.bridge.enable_ip_masquerade=true", cfg.Name)
	return err
}

// deleteCluster removes the kind cluster and its Docker network; both steps are idempotent.
func deleteCluster(ctx context.Context, kind string, cfg Config) error {
	if _, err := run(ctx, kind, "delete", "cluster", "--name", cfg.Name); err != nil {
		return err
	}
	out, err := run(ctx, "docker", "network", "ls", "-q", "--filter", "name=^"+cfg.Name+"$")
	if err != nil || strings.TrimSpace(out) == "" {
		return err
	}
	_, err = run(ctx, "docker", "network", "rm", cfg.Name)
	return err
}
