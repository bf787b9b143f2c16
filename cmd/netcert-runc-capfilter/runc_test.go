package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindRealRunc(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string, mode os.FileMode) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrapper := mk("libexec/runc-capfilter", 0o755)
	if err := os.MkdirAll(filepath.Join(dir, "shadow"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(wrapper, filepath.Join(dir, "shadow/runc")); err != nil {
		t.Fatal(err)
	}
	mk("noexec/runc", 0o644)
	real := mk("bin/runc", 0o755)
	self, err := os.Stat(wrapper)
	if err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	path := "relative:" + filepath.Join(dir, "shadow") + ":" + filepath.Join(dir, "noexec") + ":" + filepath.Join(dir, "bin")

	got, err := findRealRunc(env(map[string]string{"PATH": path}), self)
	if err != nil || got != real {
		t.Errorf("PATH lookup = %q, %v; want %q (skipping the wrapper and a non-executable)", got, err, real)
	}
	got, err = findRealRunc(env(map[string]string{"PATH": path, realRuncEnv: real}), self)
	if err != nil || got != real {
		t.Errorf("$%s = %q, %v; want %q", realRuncEnv, got, err, real)
	}
	if _, err := findRealRunc(env(map[string]string{realRuncEnv: wrapper}), self); err == nil {
		t.Errorf("$%s pointing at the wrapper: no error", realRuncEnv)
	}
	if _, err := findRealRunc(env(map[string]string{realRuncEnv: filepath.Join(dir, "nope")}), self); err == nil {
		t.Errorf("$%s pointing at nothing: no error", realRuncEnv)
	}
}
