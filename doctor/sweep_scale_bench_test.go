package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/netcert/netcert/node"
)

// scaleNodes is the size of the benchmark's cluster.
const scaleNodes = 500

// BenchmarkSweep500Nodes sweeps a cluster of 500 nodes with every check that reads the nodes and
// the API and can be replayed (all but notReplayable's: see the README's performance section). The nodes replay what a real kind Flannel cluster's control plane and
// worker answered to one healthy sweep (testdata/scale, recorded by capture.sh with `netcert
// doctor --record-nodes`), each command taking as long as it took there through docker exec; the
// API holds that cluster's objects with the worker, and its pods, cloned 499 times. It reports the
// sweep's time and how many findings fail (the clones share the worker's addresses).
func BenchmarkSweep500Nodes(b *testing.B) {
	c := scaleCluster(b, scaleNodes)
	checks := Checks(slices.DeleteFunc(Problems(), notReplayable))
	b.ResetTimer()
	for b.Loop() {
		fails := 0
		for _, r := range RunEach(b.Context(), c, checks, nil) {
			if r.Err != nil {
				b.Fatal(r.Check, r.Err)
			}
			fails += len(Failed(r.Findings))
			fmt.Fprintf(os.Stderr, "%s: %s\n", r.Check, r.Took.Round(time.Millisecond))
		}
		b.ReportMetric(float64(fails), "fails")
	}
}

// notReplayable says whether a check cannot run on replayed nodes: its cost is the traffic it
// sends from probe pods (traffic-path-broken, overlay-port-blocked), or its node command carries
// the cluster's addresses as arguments, so a recorded answer does not fit a cloned node
// (rp-filter-strict: a kernel question per other node's pod range and address).
func notReplayable(p Problem) bool {
	switch p.(type) {
	case TrafficPathBroken, OverlayPortBlocked, RPFilterStrict:
		return true
	}
	return false
}

// scaleCluster builds a Flannel cluster of n nodes replayed from testdata/scale.
func scaleCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	objs, err := scaleAPI(filepath.Join("testdata", "scale", "api.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cp, worker *corev1.Node
	var workerPods []*corev1.Pod
	var rest []runtime.Object
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Node:
			if _, ok := o.Labels["node-role.kubernetes.io/control-plane"]; ok {
				cp = o
			} else if worker == nil {
				worker = o
			}
			continue
		case *corev1.Pod:
			if worker != nil && o.Spec.NodeName == worker.Name {
				workerPods = append(workerPods, o)
				continue
			}
		}
		rest = append(rest, o)
	}
	if cp == nil || worker == nil {
		tb.Fatal("testdata/scale/api.json holds no control-plane node and worker")
	}
	// Pods on the other worker(s) of the recording, read before the worker was known, are kept.
	c := &Cluster{CNI: "flannel", Probe: scaleProber{latency: 150 * time.Millisecond}}
	cpNode, err := node.LoadReplay(filepath.Join("testdata", "scale", "control-plane.json"), cp.Name)
	if err != nil {
		tb.Fatal(err)
	}
	c.Nodes = append(c.Nodes, cpNode)
	objsOut := append(rest, cp)
	for i := 1; i < n; i++ {
		name := fmt.Sprintf("node-%03d", i)
		replay, err := node.LoadReplay(filepath.Join("testdata", "scale", "worker.json"), name)
		if err != nil {
			tb.Fatal(err)
		}
		c.Nodes = append(c.Nodes, replay)
		clone := worker.DeepCopy()
		clone.Name = name
		objsOut = append(objsOut, clone)
		for _, p := range workerPods {
			pc := p.DeepCopy()
			pc.Name, pc.Spec.NodeName, pc.ResourceVersion = p.Name+"-"+name, name, ""
			objsOut = append(objsOut, pc)
		}
	}
	c.Client = fake.NewClientset(objsOut...)
	return c
}

// scaleAPI decodes the JSON documents of api.json (lists and single objects).
func scaleAPI(path string) ([]runtime.Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	decode := scheme.Codecs.UniversalDeserializer().Decode
	var out []runtime.Object
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Items []json.RawMessage `json:"items"`
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		items := []json.RawMessage{raw}
		if json.Unmarshal(raw, &doc) == nil && doc.Items != nil {
			items = doc.Items
		}
		for _, item := range items {
			obj, _, err := decode(item, nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, obj)
		}
	}
}

// scaleProber answers every probe after the time a probe pod's exec takes.
type scaleProber struct{ latency time.Duration }

func (p scaleProber) PodPairs(ctx context.Context, pairs []NodePair) ([]PairResult, error) {
	ok, ev, err := p.wait(ctx)
	out := make([]PairResult, len(pairs))
	for i := range out {
		out[i] = PairResult{OK: ok, Evidence: ev}
	}
	return out, err
}

func (p scaleProber) DNS(ctx context.Context, server, name string) (bool, Evidence, error) {
	return p.wait(ctx)
}

func (p scaleProber) wait(ctx context.Context) (bool, Evidence, error) {
	select {
	case <-ctx.Done():
		return false, Evidence{}, ctx.Err()
	case <-time.After(p.latency):
		return true, Evidence{Source: "scale benchmark", Output: `{"ok":true}`}, nil
	}
}
