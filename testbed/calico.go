package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/netcert/netcert/fixtures"
	"github.com/netcert/netcert/images"
	"github.com/netcert/netcert/kube"
)

// Calico's workloads, as its manifest names them.
const (
	calicoNamespace   = "kube-system"
	calicoNode        = "calico-node" // the DaemonSet and its main container
	calicoControllers = "calico-kube-controllers"
)

// calicoManifest reads the Calico manifest that `make setup` copied from the Calico module.
func calicoManifest() ([]byte, error) {
	path := images.CalicoManifest()
	manifest, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the Calico manifest (run `sudo make setup`, which copies it from the Calico module): %w", err)
	}
	return manifest, nil
}

func calicoPreflight() error {
	_, err := calicoManifest()
	return err
}

// installCalico applies Calico's manifest (VXLAN data plane), patched for the cluster.
func installCalico(ctx context.Context, r *resources.Resources, cfg Config) error {
	manifest, err := calicoManifest()
	if err != nil {
		return err
	}
	return fixtures.ApplyManifest(ctx, r, images.CalicoManifest(), manifest, decoder.MutateOption(calicoPatch(cfg.Images, cfg.PodSubnet)))
}

// calicoPatch adapts Calico's manifest to the test bed: the images of the set, never pulled when
// present; the default IPv4 pool is the cluster's pod subnet and VXLAN between every pair of nodes
// (IP-in-IP is not in this kernel); Felix sends no usage reports out of the machine; the pods'
// MTU is set (calicoVethMTU).
func calicoPatch(set images.Set, podSubnet string) decoder.MutateFunc {
	nodeEnv := []corev1.EnvVar{
		{Name: "CALICO_IPV4POOL_CIDR", Value: podSubnet},
		{Name: "CALICO_IPV4POOL_VXLAN", Value: "Always"},
		{Name: "CALICO_IPV4POOL_IPIP", Value: "Never"},
		{Name: "FELIX_USAGEREPORTINGENABLED", Value: "false"},
	}
	imageFor := map[string]string{ // the upstream repository → the image of the set
		"calico/node":             set.CalicoNode,
		"calico/cni":              set.CalicoCNI,
		"calico/kube-controllers": set.CalicoControllers,
	}
	patchPod := func(pod *corev1.PodSpec) error {
		for _, containers := range [][]corev1.Container{pod.InitContainers, pod.Containers} {
			for i := range containers {
				c := &containers[i]
				repo, _, _ := strings.Cut(strings.TrimPrefix(c.Image, "docker.io/"), ":")
				image, ok := imageFor[repo]
				if !ok {
					return fmt.Errorf("container %s: no image of netcert's set for %s", c.Name, c.Image)
				}
				c.Image, c.ImagePullPolicy = image, corev1.PullIfNotPresent
				if c.Name == calicoNode {
					setEnv(c, nodeEnv)
				}
			}
		}
		return nil
	}
	return func(obj k8s.Object) error {
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			if o.Name == "calico-config" && o.Data != nil {
				o.Data["veth_mtu"] = calicoVethMTU
			}
		case *appsv1.DaemonSet:
			return patchPod(&o.Spec.Template.Spec)
		case *appsv1.Deployment:
			return patchPod(&o.Spec.Template.Spec)
		}
		return nil
	}
}

// calicoVethMTU is the pods' MTU: VXLAN's 50 bytes under the node network's 1500. Calico's
// default ("0": the CNI plugin reads what calico-node detected) gives the pods created before
// calico-node first writes /var/lib/calico/mtu an MTU of 1500, which mtu-mismatch named on the
// test bed (the probes, created with the CNI, got the CNI's config 3 s before the MTU file).
const calicoVethMTU = "1450"

// setEnv sets each variable of env in the container, replacing a value or a valueFrom.
func setEnv(c *corev1.Container, env []corev1.EnvVar) {
	for _, v := range env {
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == v.Name })
		if i < 0 {
			c.Env = append(c.Env, v)
		} else {
			c.Env[i] = v
		}
	}
}

// calicoReady: calico-node Ready on every node (its readiness probe asks Felix), the IP pool of the
// pod subnet created, and calico-kube-controllers Ready.
func calicoReady(r *resources.Resources, cfg Config, nodes int) ([]readiness, error) {
	dyn, err := dynamic.NewForConfig(r.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	pool, err := netip.ParsePrefix(cfg.PodSubnet)
	if err != nil {
		return nil, fmt.Errorf("pod subnet: %w", err)
	}
	return []readiness{
		{"calico-node DaemonSet", daemonSetReady(r, calicoNamespace, calicoNode, nodes)},
		{"Calico IPPool " + pool.String(), ipPoolPresent(dyn, pool)},
		{"calico-kube-controllers", deploymentReady(r, calicoNamespace, calicoControllers)},
	}, nil
}

// ipPoolPresent: an IPPool for cidr exists (calico-node creates the default pool at start-up).
func ipPoolPresent(dyn dynamic.Interface, cidr netip.Prefix) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		pools, err := dyn.Resource(kube.CalicoIPPools).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil // the CRD may not be served yet; retry until the timeout
		}
		for _, p := range pools.Items {
			s, _, _ := unstructured.NestedString(p.Object, "spec", "cidr")
			if got, err := netip.ParsePrefix(s); err == nil && got.Masked() == cidr.Masked() {
				return true, nil
			}
		}
		return false, nil
	}
}
