// Package captures gives the tests of doctor and of its parser packages the real tool output kept
// under doctor/testdata, from whichever package directory they run in.
package captures

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Dirs are the folders of doctor/testdata that hold captures.
var Dirs = []string{"netfilter", "live", "kube-proxy", "iproute"}

// root is doctor/testdata: the nearest testdata folder with netfilter captures at or above the
// directory go test runs in (the test's package).
func root() string {
	dir, err := os.Getwd()
	for err == nil {
		if fi, serr := os.Stat(filepath.Join(dir, "testdata", "netfilter")); serr == nil && fi.IsDir() {
			return filepath.Join(dir, "testdata")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "testdata"
}

// file returns the path of doctor/testdata/<elem...>.
func file(elem ...string) string {
	return filepath.Join(append([]string{root()}, elem...)...)
}

// Read returns the contents of doctor/testdata/<elem...>.
func Read(t testing.TB, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(file(elem...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Seed adds to f every capture in the folders dirs of doctor/testdata whose name ends with one of
// suffixes.
func Seed(f *testing.F, dirs []string, suffixes ...string) {
	for _, dir := range dirs {
		files, err := filepath.Glob(file(dir, "*"))
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			if !slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(name, s) }) {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
}
