package testbed

import (
	"context"
	"fmt"
	"net/netip"
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

// checkHost fails with what to do when there is no Docker engine, a local image is missing or the
// CNI's own check fails.
func checkHost(ctx context.Context, cfg Config) error {
	cni, err := cniFor(cfg.CNI)
	if err != nil {
		return err
	}
	if _, err := run(ctx, "docker", "info"); err != nil {
		return fmt.Errorf("no Docker engine answers (run `sudo make setup` first): %w", err)
	}
	need := cfg.Images.LocalImages(cfg.CNI)
	if cfg.Images.Mode == images.Local {
		need = append(need, cfg.Images.Node)
	}
	for _, image := range need {
		if _, err := run(ctx, "docker", "image", "inspect", image); err != nil {
			return fmt.Errorf("image %s is missing: run `sudo make setup` to build it", image)
		}
	}
	if cni.preflight != nil {
		return cni.preflight()
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
	// Built aside and renamed over: another suite may be running the binary at path.
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, "sigs.k8s.io/kind")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kind from go.mod: %w: %s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("install kind: %w", err)
	}
	return path, nil
}

// networkSubnets returns the subnets of the Docker network name; an error when there is none.
func networkSubnets(ctx context.Context, name string) ([]string, error) {
	out, err := run(ctx, "docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", name)
	return strings.Fields(out), err
}

// nodeSubnet returns the IPv4 subnet of the Docker network name if it exists (a kept cluster's),
// else the first of 172.18.0.0/16 … 172.31.0.0/16 that no Docker network and no route of this
// machine overlaps.
func nodeSubnet(ctx context.Context, name string) (string, error) {
	if subnets, err := networkSubnets(ctx, name); err == nil {
		for _, s := range subnets {
			if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
				return p.String(), nil
			}
		}
	}
	var taken []netip.Prefix
	out, err := run(ctx, "sh", "-c", `docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' $(docker network ls -q); ip -4 route show table all | cut -d' ' -f1`)
	if err != nil {
		return "", fmt.Errorf("list the subnets in use: %w", err)
	}
	for _, s := range strings.Fields(out) {
		if p, err := netip.ParsePrefix(s); err == nil {
			taken = append(taken, p)
		} else if a, err := netip.ParseAddr(s); err == nil {
			taken = append(taken, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return freeSubnet(taken)
}

// freeSubnet returns the first 172.N.0.0/16 (N from 18 to 31) that overlaps none of taken.
func freeSubnet(taken []netip.Prefix) (string, error) {
next:
	for n := 18; n <= 31; n++ {
		candidate := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(n), 0, 0}), 16)
		for _, t := range taken {
			if t.Bits() > 0 && t.Overlaps(candidate) {
				continue next
			}
		}
		return candidate.String(), nil
	}
	return "", fmt.Errorf("no free subnet in 172.18.0.0/16 … 172.31.0.0/16 for a Docker network: delete unused networks (docker network prune)")
}

// createNetwork creates the cluster's Docker network with cfg.NodeSubnet, as kind would create it
// (a bridge that masquerades), so that kind uses it; it refuses a network of that name that is
// already there with another subnet.
func createNetwork(ctx context.Context, cfg Config) error {
	if subnets, err := networkSubnets(ctx, cfg.Name); err == nil {
		if !slices.Contains(subnets, cfg.NodeSubnet) {
			return fmt.Errorf("docker network %s exists with subnet(s) %q, not %s: delete it with `docker network rm %s` (or make clean-clusters)",
				cfg.Name, strings.Join(subnets, " "), cfg.NodeSubnet, cfg.Name)
		}
		return nil
	}
	_, err := run(ctx, "docker", "network", "create", "--driver", "bridge", "--subnet", cfg.NodeSubnet,
		"-o", "com.docker.network.bridge.enable_ip_masquerade=true", cfg.Name)
	return err
}

// deleteCluster removes the kind cluster, its node-network host and its Docker network; every
// step is idempotent.
func deleteCluster(ctx context.Context, kind string, cfg Config) error {
	if _, err := run(ctx, kind, "delete", "cluster", "--name", cfg.Name); err != nil {
		return err
	}
	if err := (&Cluster{cfg: cfg}).stopNetworkHost(ctx); err != nil {
		return err
	}
	out, err := run(ctx, "docker", "network", "ls", "-q", "--filter", "name=^"+cfg.Name+"$")
	if err != nil || strings.TrimSpace(out) == "" {
		return err
	}
	_, err = run(ctx, "docker", "network", "rm", cfg.Name)
	return err
}
