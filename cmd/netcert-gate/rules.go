package main

import "strings"

// The kind suites the gate can ask for, in the order they run.
var gatedSuites = []string{"flannel", "calico", "nftables"}

// cniOwn are the paths that only one suite covers (prefixes; a trailing "/" is a directory); the
// longest matching prefix names the suite.
var cniOwn = map[string][]string{
	"flannel":  {"kind-configs/flannel", "fixtures/flannel", "images/build/flanneld.sh", "testbed/flannel.go", "suites/flannel/"},
	"calico":   {"kind-configs/calico", "fixtures/calico", "images/build/calico.sh", "images/calico/", "testbed/calico.go", "suites/calico/"},
	"nftables": {"kind-configs/flannel-nftables", "testbed/kube-proxy-mode.go", "suites/nftables/"},
}

// networkRelevant are the paths whose change can alter what a cluster's network does or what the
// suites see: the library, the faults, the test bed, the images, the probes and the dependencies.
var networkRelevant = []string{"doctor/", "faults/", "kube/", "node/", "probe/", "podprobe/", "dnsupstream/", "traffic/", "certify/", "registry/",
	"testbed/", "fixtures/", "kind-configs/", "images/", "suites/", "cmd/netcert-probe/",
	"cmd/netcert-dns-upstream/", "cmd/netcert-runc-capfilter/", "go.mod", "go.sum"}

// suitesFor returns the suites that cover the changed paths: a CNI's own files need its suite,
// every other network-relevant file needs all of them, and the rest (docs, reports, workflows)
// needs none.
func suitesFor(paths []string) []string {
	need := map[string]bool{}
	for _, p := range paths {
		if cni := ownerCNI(p); cni != "" {
			need[cni] = true
		} else if hasAnyPrefix(p, networkRelevant) {
			for _, s := range gatedSuites {
				need[s] = true
			}
		}
	}
	suites := []string{}
	for _, s := range gatedSuites {
		if need[s] {
			suites = append(suites, s)
		}
	}
	return suites
}

func ownerCNI(path string) string {
	owner, longest := "", 0
	for suite, own := range cniOwn {
		for _, p := range own {
			if strings.HasPrefix(path, p) && len(p) > longest {
				owner, longest = suite, len(p)
			}
		}
	}
	return owner
}

func hasAnyPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
