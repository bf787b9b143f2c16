package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// allCaps is what Docker puts in every list for --privileged.
var allCaps = func() []string {
	names := make([]string, len(capNumbers))
	for name, n := range capNumbers {
		names[n] = name
	}
	return names
}()

func quoted(names []string) string {
	b, _ := json.Marshal(names)
	return string(b)
}

// sampleConfig is a trimmed config.json as Docker 20.10 writes it for
// `docker run --privileged`, with a few fields that a naive round trip
// would damage (a huge integer, HTML characters, nulls, key order).
var sampleConfig = `{"ociVersion":"1.0.2-dev",
"process":{"user":{"uid":0,"gid":0},"args":["/true","<a&b>"],"env":["PATH=/usr/bin"],"cwd":"/",
 "capabilities":{"bounding":` + quoted(allCaps) + `,"effective":` + quoted(allCaps) + `,
  "inheritable":` + quoted(allCaps) + `,"permitted":` + quoted(allCaps) + `,"ambient":null},
 "apparmorProfile":"unconfined","oomScoreAdj":0,"rlimits":[{"type":"RLIMIT_NOFILE","hard":1048576,"soft":1048576}]},
"root":{"path":"/var/lib/docker/overlay2/x/merged"},
"hostname":"abc",
"mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]}],
"hooks":{"prestart":[{"path":"/proc/4242/exe","args":["libnetwork-setkey","-exec-root=/var/run/docker","abc","def"]}]},
"linux":{"resources":{"memory":{"limit":9223372036854775807,"swap":-1},"cpu":{"shares":0,"quota":-1.5e3},"devices":[{"allow":true,"access":"rwm"}]},
 "cgroupsPath":"system.slice:docker:abc","namespaces":[{"type":"mount"},{"type":"network"}],"maskedPaths":[],"readonlyPaths":[]}}`

// sampleProcess is a process.json as containerd passes it to `runc exec --process`.
var sampleProcess = `{"user":{"uid":0,"gid":0},"args":["/sleep","1"],"env":["PATH=/usr/bin"],"cwd":"/",
"capabilities":{"bounding":` + quoted(allCaps) + `,"effective":` + quoted(allCaps) + `,"permitted":` + quoted(allCaps) + `},
"apparmorProfile":"unconfined"}`

func without(names []string, drop ...string) []any {
	out := []any{}
	for _, n := range names {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}

func mustDecode(t *testing.T, s string) map[string]any {
	t.Helper()
	doc, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return doc
}

func TestFilterCapabilities(t *testing.T) {
	const vmBnd = capSet(0x000001fffeffffff) // no CAP_SYS_RESOURCE
	const fullBnd = capSet(0x000001ffffffffff)
	const oldKernel = capSet(0x0000003fffffffff) // cap_last_cap 37
	tests := []struct {
		name     string
		doc      string
		path     []string
		bnd      capSet
		drop     []string // capabilities expected to vanish from every list present
		lists    []string // the lists present in doc
		nRemoved int
	}{
		{"config.json, VM set", sampleConfig, []string{"process", "capabilities"}, vmBnd,
			[]string{"CAP_SYS_RESOURCE"}, []string{"bounding", "effective", "inheritable", "permitted"}, 4},
		{"config.json, full set", sampleConfig, []string{"process", "capabilities"}, fullBnd,
			nil, []string{"bounding", "effective", "inheritable", "permitted"}, 0},
		{"config.json, old kernel", sampleConfig, []string{"process", "capabilities"}, oldKernel,
			[]string{"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}, []string{"bounding", "effective", "inheritable", "permitted"}, 12},
		{"process.json, VM set", sampleProcess, []string{"capabilities"}, vmBnd,
			[]string{"CAP_SYS_RESOURCE"}, []string{"bounding", "effective", "permitted"}, 3},
		{"unknown names are kept", `{"capabilities":{"bounding":["CAP_FUTURE","CAP_SYS_RESOURCE","CAP_KILL"]}}`, []string{"capabilities"}, vmBnd,
			nil, nil, 1},
		{"no capabilities", `{"process":{"args":["/true"]}}`, []string{"process", "capabilities"}, vmBnd, nil, nil, 0},
		{"null capabilities", `{"process":{"capabilities":null}}`, []string{"process", "capabilities"}, vmBnd, nil, nil, 0},
		{"no process", `{"ociVersion":"1.0.2"}`, []string{"process", "capabilities"}, vmBnd, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustDecode(t, tt.doc)
			want := mustDecode(t, tt.doc)
			removed, err := filterCapabilities(doc, tt.path, tt.bnd)
			if err != nil {
				t.Fatal(err)
			}
			if len(removed) != tt.nRemoved {
				t.Errorf("removed %d (%v), want %d", len(removed), removed, tt.nRemoved)
			}
			// Build the expectation by editing only the capability lists.
			caps := want
			for _, k := range tt.path {
				next, _ := caps[k].(map[string]any)
				caps = next
			}
			for _, l := range tt.lists {
				caps[l] = without(allCaps, tt.drop...)
			}
			if tt.name == "unknown names are kept" {
				caps["bounding"] = []any{"CAP_FUTURE", "CAP_KILL"}
			}
			if !reflect.DeepEqual(doc, want) {
				a, _ := encodeJSON(doc)
				b, _ := encodeJSON(want)
				t.Errorf("filtered document differs:\n got %s\nwant %s", a, b)
			}
		})
	}
}

func TestFilterCapabilitiesErrors(t *testing.T) {
	for _, doc := range []string{
		`{"process":{"capabilities":["CAP_KILL"]}}`,
		`{"process":{"capabilities":{"bounding":"CAP_KILL"}}}`,
		`{"process":{"capabilities":{"bounding":[24]}}}`,
		`{"process":"x"}`,
	} {
		if _, err := filterCapabilities(mustDecode(t, doc), []string{"process", "capabilities"}, 0); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
}

func TestFilterSpecFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(sampleConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := filterSpecFile(path, []string{"process", "capabilities"}, 0x000001fffeffffff)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 4 {
		t.Errorf("removed = %v, want CAP_SYS_RESOURCE from 4 lists", removed)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, frag := range []string{`"limit":9223372036854775807`, `"quota":-1.5e3`, `"<a&b>"`, `"ambient":null`, `"maskedPaths":[]`} {
		if !strings.Contains(s, frag) {
			t.Errorf("rewritten file lost %s:\n%s", frag, s)
		}
	}
	if strings.Contains(s, "CAP_SYS_RESOURCE") || !strings.Contains(s, "CAP_SYS_ADMIN") {
		t.Errorf("rewritten file has the wrong capabilities:\n%s", s)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after rewrite: %v, %v; want 0600", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	// A second pass finds nothing to remove and leaves the bytes alone.
	if err := os.WriteFile(path, []byte(sampleProcess), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err = filterSpecFile(path, []string{"capabilities"}, 0x000001ffffffffff)
	if err != nil || len(removed) != 0 {
		t.Fatalf("full set: removed %v, err %v", removed, err)
	}
	if data, _ := os.ReadFile(path); string(data) != sampleProcess {
		t.Errorf("file rewritten although nothing was removed")
	}

	// Broken JSON is an error and the file stays as it was.
	if err := os.WriteFile(path, []byte(`{"capabilities":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := filterSpecFile(path, []string{"capabilities"}, 0); err == nil {
		t.Error("broken JSON: no error")
	}
	if _, err := filterSpecFile(filepath.Join(dir, "missing.json"), []string{"capabilities"}, 0); err == nil {
		t.Error("missing file: no error")
	}
}
