package main

import (
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	globals := []string{"runc", "--root", "/var/run/docker/runtime-netcert-runc/moby",
		"--log", "/run/containerd/io.containerd.runtime.v2.task/moby/abc/log.json",
		"--log-format", "json", "--systemd-cgroup"}
	with := func(rest ...string) []string {
		return append(append([]string{}, globals...), rest...)
	}
	tests := []struct {
		name string
		args []string
		want invocation
		file string // expected SpecFile, "" for none
	}{
		{"no args", []string{"runc"}, invocation{}, ""},
		{"version", []string{"runc", "--version"}, invocation{}, ""},
		{"global help", []string{"runc", "-h", "create"}, invocation{}, ""},
		{"state passes through", with("state", "abc"), invocation{Command: "state"}, ""},
		{"unknown command", with("frobnicate", "--bundle", "/b"), invocation{Command: "frobnicate"}, ""},
		{
			"create as containerd runs it",
			with("create", "--bundle", "/run/containerd/b/abc", "--pid-file", "/run/p.pid", "--console-socket", "/tmp/s", "abc"),
			invocation{Command: "create", Bundle: "/run/containerd/b/abc"}, "/run/containerd/b/abc/config.json",
		},
		{"create --bundle=X", with("create", "--bundle=/b", "abc"), invocation{Command: "create", Bundle: "/b"}, "/b/config.json"},
		{"create -b X", with("create", "-b", "/b", "abc"), invocation{Command: "create", Bundle: "/b"}, "/b/config.json"},
		{"create -b=X", with("create", "-b=/b", "abc"), invocation{Command: "create", Bundle: "/b"}, "/b/config.json"},
		{"create single-dash long", with("create", "-bundle", "/b", "abc"), invocation{Command: "create", Bundle: "/b"}, "/b/config.json"},
		{"create default bundle", with("create", "--no-pivot", "abc"), invocation{Command: "create", Bundle: "."}, "config.json"},
		{"create empty bundle", with("create", "--bundle=", "abc"), invocation{Command: "create", Bundle: "."}, "config.json"},
		{"create relative bundle", with("create", "-b", "rel/dir", "abc"), invocation{Command: "create", Bundle: "rel/dir"}, "rel/dir/config.json"},
		{"create flags after the id (reordered)", with("create", "abc", "--bundle", "/b"), invocation{Command: "create", Bundle: "/b"}, "/b/config.json"},
		{"create last bundle wins", with("create", "-b", "/one", "--bundle=/two", "abc"), invocation{Command: "create", Bundle: "/two"}, "/two/config.json"},
		{"create after --", with("create", "--", "abc", "--bundle", "/b"), invocation{Command: "create", Bundle: "."}, "config.json"},
		{"create --help", with("create", "--help"), invocation{Command: "create", Help: true, Bundle: "."}, ""},
		{"global -- then create", []string{"runc", "--root", "/r", "--", "create", "-b", "/b", "x"}, invocation{Command: "create", Bundle: "/b"}, "/b/config.json"},
		{"global = spellings", []string{"runc", "--root=/r", "-log=/l", "--log-format=json", "--debug", "run", "--detach", "--bundle=/b", "x"},
			invocation{Command: "run", Bundle: "/b"}, "/b/config.json"},
		{"run -d -b", with("run", "-d", "-b", "/b", "--keep", "x"), invocation{Command: "run", Bundle: "/b"}, "/b/config.json"},
		{"global value looks like a command", []string{"runc", "--root", "create", "run", "-b", "/b", "x"}, invocation{Command: "run", Bundle: "/b"}, "/b/config.json"},
		{
			"exec as containerd runs it",
			with("exec", "--process", "/tmp/runc-process123", "--detach", "--pid-file", "/run/e.pid", "abc"),
			invocation{Command: "exec", Bundle: ".", Process: "/tmp/runc-process123"}, "/tmp/runc-process123",
		},
		{"exec --process=X", with("exec", "--process=/tmp/p.json", "abc"), invocation{Command: "exec", Bundle: ".", Process: "/tmp/p.json"}, "/tmp/p.json"},
		{"exec -p X", with("exec", "-d", "-p", "/tmp/p.json", "abc"), invocation{Command: "exec", Bundle: ".", Process: "/tmp/p.json"}, "/tmp/p.json"},
		{"exec -p=X", with("exec", "-p=/tmp/p.json", "abc"), invocation{Command: "exec", Bundle: ".", Process: "/tmp/p.json"}, "/tmp/p.json"},
		{"exec value flags before -p", with("exec", "-e", "A=1", "--cap", "CAP_NET_ADMIN", "-u", "0:0", "-p", "/p", "abc"),
			invocation{Command: "exec", Bundle: ".", Process: "/p"}, "/p"},
		{"exec without process file", with("exec", "-t", "abc", "sh"), invocation{Command: "exec", Bundle: "."}, ""},
		{"exec: -p of the command is not ours", with("exec", "abc", "ps", "-p", "1"), invocation{Command: "exec", Bundle: "."}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
			file, _, ok := got.SpecFile()
			if ok != (tt.file != "") || file != tt.file {
				t.Errorf("SpecFile() = %q, %v, want %q", file, ok, tt.file)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"runc", "--root"},
		{"runc", "create", "--bundle"},
		{"runc", "exec", "-p"},
		{"runc", "---root", "/r", "create"},
		{"runc", "create", "-=x"},
	} {
		if inv, err := parseArgs(args); err == nil {
			t.Errorf("parseArgs(%q) = %+v, want an error", args, inv)
		}
	}
}

func TestSpecFilePaths(t *testing.T) {
	_, p, _ := invocation{Command: "create", Bundle: "/b"}.SpecFile()
	if !reflect.DeepEqual(p, []string{"process", "capabilities"}) {
		t.Errorf("create caps path = %v", p)
	}
	_, p, _ = invocation{Command: "exec", Process: "/p"}.SpecFile()
	if !reflect.DeepEqual(p, []string{"capabilities"}) {
		t.Errorf("exec caps path = %v", p)
	}
}

func TestReorderArgs(t *testing.T) {
	got := reorderArgs([]string{"abc", "--bundle", "/b", "--no-pivot", "--pid-file=/p", "--", "-x"})
	want := []string{"--bundle", "/b", "--no-pivot", "--pid-file=/p", "abc", "--", "-x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reorderArgs = %q, want %q", got, want)
	}
}
