package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// realRuncEnv names the environment variable that, when set, gives the path
// of the real runc.
const realRuncEnv = "NETCERT_REAL_RUNC"

// fallbackRuncs are tried, in order, when PATH holds no runc.
var fallbackRuncs = []string{"/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc"}

// findRealRunc returns the path of the runc to exec: $NETCERT_REAL_RUNC, else
// the first executable `runc` in pathEnv, else one of fallbackRuncs, skipping
// any that is the file self (this wrapper, possibly through a symlink).
func findRealRunc(getenv func(string) string, self os.FileInfo) (string, error) {
	if p := getenv(realRuncEnv); p != "" {
		fi, err := executable(p)
		if err != nil {
			return "", fmt.Errorf("$%s: %w", realRuncEnv, err)
		}
		if self != nil && os.SameFile(fi, self) {
			return "", fmt.Errorf("$%s=%s is this wrapper itself, not the real runc", realRuncEnv, p)
		}
		return p, nil
	}
	var candidates []string
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // like exec.LookPath, never run a runc from a relative directory
		}
		candidates = append(candidates, filepath.Join(dir, "runc"))
	}
	candidates = append(candidates, fallbackRuncs...)
	for _, p := range candidates {
		fi, err := executable(p)
		if err != nil || (self != nil && os.SameFile(fi, self)) {
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("no runc found in PATH or in %v (set $%s to the real runc)", fallbackRuncs, realRuncEnv)
}

// executable stats p and checks that it is an executable regular file.
func executable(p string) (os.FileInfo, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%s is not executable", p)
	}
	return fi, nil
}

// selfInfo describes the running executable (nil if unknown), so that the
// wrapper never execs itself.
func selfInfo() os.FileInfo {
	if fi, err := os.Stat("/proc/self/exe"); err == nil {
		return fi
	}
	if p, err := os.Executable(); err == nil {
		if fi, err := os.Stat(p); err == nil {
			return fi
		}
	}
	return nil
}
