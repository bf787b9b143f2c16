package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/kube"
	"github.com/netcert/netcert/kube/kubetest"
	"github.com/netcert/netcert/node"
)

// netcertLeftovers is a cluster with what netcert leaves: its namespaces, the known-good
// Corefile, its annotation on CoreDNS, and a Corefile a killed fault replaced.
func netcertLeftovers() *fake.Clientset {
	ns := func(name string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	coredns := kubetest.CoreDNS(2)
	coredns.Spec.Template.Annotations = map[string]string{kube.CorefileHashAnnotation: "abc"}
	cs := fake.NewClientset(ns("netcert-system"), ns("netcert-agent"), ns("kube-system"), ns("default"), coredns,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: doctor.KnownGoodCorefile}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns",
			Annotations: map[string]string{"netcert.io/fault-original-corefile": ".:53 {\n    forward . 10.96.0.53\n}\n"}},
			Data: map[string]string{"Corefile": ".:53 {\n    forward . 10.96.9.9\n}\n"}})
	kubetest.SimulateRollouts(cs, 1)
	return cs
}

func cleanCLI(t *testing.T, cs *fake.Clientset, args ...string) (int, string, string) {
	t.Helper()
	// An empty journal, no fault names in the rules, and views without the repair's rules.
	n := node.NewFake("w1").Reply("sh -c", "").Reply("iptables-legacy-save -c", "").Reply("iptables-nft-save -c", "").Reply("nft -a list ruleset", "")
	conn := func(context.Context, target, io.Writer) (*session, error) {
		return &session{cluster: &doctor.Cluster{CNI: "flannel", Client: cs, Nodes: []node.Node{n}}}, nil
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"clean"}, args...), &stdout, &stderr, conn)
	return code, stdout.String(), stderr.String()
}

func TestCleanRemovesWhatNetcertLeftOnACluster(t *testing.T) {
	cs := netcertLeftovers()
	code, out, _ := cleanCLI(t, cs, "--kind", "x", "--check")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, out, "ConfigMap kube-system/coredns holds a Corefile coredns-forward-broken replaced")
	assert.Contains(t, out, "namespace netcert-agent")
	assert.Len(t, cs.Fake.Actions(), len(readsOnly(cs)), "--check changes nothing")

	code, out, errOut := cleanCLI(t, cs, "--kind", "x")
	require.Equal(t, exitOK, code, out+errOut)
	for _, line := range []string{
		"reverted fault coredns-forward-broken (the original Corefile is back)",
		"removed ConfigMap kube-system/netcert-known-good-corefile",
		"removed annotation netcert.io/corefile-sha256 on Deployment kube-system/coredns",
		"removed namespace netcert-system", "removed namespace netcert-agent", "nothing of netcert's is left"} {
		assert.Contains(t, out, line)
	}
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, ".:53 {\n    forward . 10.96.0.53\n}\n", cm.Data["Corefile"])
	_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	assert.NoError(t, err, "other namespaces stay")
	_, err = cs.CoreV1().Namespaces().Get(ctx, "netcert-system", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))

	code, out, _ = cleanCLI(t, cs, "--kind", "x", "--check")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "nothing of netcert's is left\n", out)
}

func TestCleanSaysWhatToClean(t *testing.T) {
	code, _, errOut := cleanCLI(t, fake.NewClientset())
	assert.Equal(t, exitTrouble, code)
	assert.Contains(t, errOut, "say what to clean: --kind NAME or --context CTX (a cluster), and/or --machine")
}

// readsOnly returns the fake's actions that only read.
func readsOnly(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Fake.Actions() {
		if v := a.GetVerb(); v == "get" || v == "list" || v == "watch" {
			out = append(out, v)
		}
	}
	return out
}
