package testbed

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/netcert/netcert/images"
	"github.com/netcert/netcert/podprobe"
)

// KeepEnv keeps the cluster (and its Docker network) after a suite, for debugging, when set to 1.
const KeepEnv = "NETCERT_KEEP_CLUSTER"

// netcert's workloads in the test clusters (fixtures/netcert-probes.yaml, netcert-test-dns.yaml).
const (
	Namespace      = podprobe.Namespace
	ProbeService   = podprobe.ProbeService
	DNSUpstream    = "dns-upstream"
	DeadUpstream   = "dead-upstream" // a Service without endpoints: nothing answers on its ClusterIP
	TestZone       = "netcert.test."
	TestRecordName = "probe.netcert.test."
	TestRecordIP   = "127.0.0.1"
)

// Config describes one test cluster.
type Config struct {
	Name       string // cluster name; also the name of its Docker network
	KindConfig string // path of the kind cluster configuration
	CNI        string // "flannel" or "calico"
	PodSubnet  string // must match the kind configuration
	NodeSubnet string // the subnet of the cluster's Docker network; "" picks a free 172.x.0.0/16
	Images     images.Set
	// KubeProxyMode is kube-proxy's data plane as the kind configuration sets it: "" or
	// "iptables" (kind's default) or "nftables"; the report's matrix shows it as an axis.
	KubeProxyMode string
	Keep          bool                             // leave the cluster running after the suite
	Logf          func(format string, args ...any) // progress lines
}

// ConfigFromEnv returns the configuration of cluster name with kind configuration
// kind-configs/<cni>.yaml, reading the image mode and the keep switch from the environment.
func ConfigFromEnv(name, cni, podSubnet string) (Config, error) {
	mode, err := images.ModeFromEnv()
	if err != nil {
		return Config{}, err
	}
	root, err := RepoRoot()
	if err != nil {
		return Config{}, err
	}
	keep, _ := strconv.ParseBool(os.Getenv(KeepEnv))
	return Config{
		Name:       name,
		KindConfig: filepath.Join(root, "kind-configs", cni+".yaml"),
		CNI:        cni,
		PodSubnet:  podSubnet,
		Images:     images.For(mode),
		Keep:       keep,
		Logf:       suiteLogf(name),
	}, nil
}

// suiteLogf prints progress lines of the cluster name to stderr.
func suiteLogf(name string) func(format string, args ...any) {
	return log.New(os.Stderr, "[netcert "+name+"] ", log.Ltime).Printf
}

// KubeProxyNftables makes a suite's cluster run kube-proxy in nftables mode
// (kind-configs/<cni>-nftables.yaml).
func KubeProxyNftables(c *Config) {
	c.KindConfig = strings.TrimSuffix(c.KindConfig, ".yaml") + "-nftables.yaml"
	c.KubeProxyMode = "nftables"
}

// RepoRoot returns the root of the netcert module (where go.mod is), from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: run the suites from the netcert repository")
		}
		dir = parent
	}
}
