// Package images names the container images that netcert's test clusters run, as pinned in
// versions.env (shared with the set-up scripts), in local mode (built here from source by
// `make setup`) or upstream mode (pulled from public registries).
package images

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

//go:embed versions.env
var versionsEnv string

// ModeEnv is the environment variable that selects the image source: "local" (the default) or
// "upstream" (kindest/node and the upstream CNI images).
const ModeEnv = "NETCERT_IMAGES"

// Mode says where the images come from.
type Mode string

// The image sources.
const (
	Local    Mode = "local"
	Upstream Mode = "upstream"
)

// Set is the images one test cluster needs.
type Set struct {
	Mode              Mode
	Node              string // kind node image
	Flannel           string // flanneld
	FlannelCNIPlugin  string // holds /flannel, the flannel CNI plugin
	CNIPlugins        string // holds the standard CNI plugins in /cni-plugins (always built here)
	CalicoNode        string // calico-node (Felix and friends)
	CalicoCNI         string // the calico CNI and IPAM plugins and their installer
	CalicoControllers string // calico-kube-controllers
	Probe             string // netcert's probe and DNS upstream (always built here)
	Agent             string // netcert's node agent (always built here)
	KubernetesVersion string
}

// Versions returns every KEY=value pin of versions.env, with ${VAR} references expanded.
func Versions() map[string]string {
	return parseEnv(versionsEnv)
}

func parseEnv(text string) map[string]string {
	vars := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		key, value, ok := strings.Cut(line, "=")
		if line == "" || strings.HasPrefix(line, "#") || !ok {
			continue
		}
		vars[key] = os.Expand(value, func(name string) string { return vars[name] })
	}
	return vars
}

// ModeFromEnv reads ModeEnv; empty means Local.
func ModeFromEnv() (Mode, error) {
	switch m := Mode(os.Getenv(ModeEnv)); m {
	case "", Local:
		return Local, nil
	case Upstream:
		return Upstream, nil
	default:
		return "", fmt.Errorf("%s=%q: want %q or %q", ModeEnv, m, Local, Upstream)
	}
}

// For returns the image set of mode.
func For(mode Mode) Set {
	v := Versions()
	s := Set{
		Mode:              mode,
		Node:              v["LOCAL_NODE_IMAGE"],
		Flannel:           v["LOCAL_FLANNEL_IMAGE"],
		FlannelCNIPlugin:  v["LOCAL_FLANNEL_IMAGE"],
		CNIPlugins:        v["CNI_PLUGINS_IMAGE"],
		CalicoNode:        v["LOCAL_CALICO_NODE_IMAGE"],
		CalicoCNI:         v["LOCAL_CALICO_CNI_IMAGE"],
		CalicoControllers: v["LOCAL_CALICO_KUBE_CONTROLLERS_IMAGE"],
		Probe:             v["PROBE_IMAGE"],
		Agent:             v["AGENT_IMAGE"],
		KubernetesVersion: v["KUBERNETES_VERSION"],
	}
	if mode == Upstream {
		s.Node = v["UPSTREAM_NODE_IMAGE"]
		s.Flannel = v["UPSTREAM_FLANNEL_IMAGE"]
		s.FlannelCNIPlugin = v["UPSTREAM_FLANNEL_CNI_PLUGIN_IMAGE"]
		s.CalicoNode = v["UPSTREAM_CALICO_NODE_IMAGE"]
		s.CalicoCNI = v["UPSTREAM_CALICO_CNI_IMAGE"]
		s.CalicoControllers = v["UPSTREAM_CALICO_KUBE_CONTROLLERS_IMAGE"]
	}
	return s
}

// LocalImages returns the images of the set that are built here and loaded into a cluster with the
// CNI cni ("flannel" or "calico"): netcert's probe and node agent, and the CNI's images in local mode.
func (s Set) LocalImages(cni string) []string {
	var images []string
	switch {
	case cni == "flannel" && s.Mode == Local:
		images = []string{s.Flannel, s.CNIPlugins}
	case cni == "flannel":
		images = []string{s.CNIPlugins} // the plugins Flannel delegates to: built here in both modes
	case cni == "calico" && s.Mode == Local:
		images = []string{s.CalicoNode, s.CalicoCNI, s.CalicoControllers}
	}
	return append(images, s.Probe, s.Agent)
}

// CacheEnv overrides the directory where `make setup` keeps what it builds (images/lib.sh).
const CacheEnv = "NETCERT_CACHE"

// CalicoManifest returns the path of the Calico manifest that `make setup` copies from the Calico
// module ($NETCERT_CACHE/manifests/$CALICO_MANIFEST).
func CalicoManifest() string {
	cache := os.Getenv(CacheEnv)
	if cache == "" {
		cache = "/var/cache/netcert"
	}
	return filepath.Join(cache, "manifests", Versions()["CALICO_MANIFEST"])
}
