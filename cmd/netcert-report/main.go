// Command netcert-report merges the reports of several suite runs into one: the JSON, JUnit XML,
// HTML and Markdown of every run found.
//
//	netcert-report [-in reports/out/suites] [-out reports/out] [-name report] [FILE.json ...]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/netcert/netcert/reports"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netcert-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "reports/out/suites", "the directory of the suites' reports (<suite>.json), when no FILE is given")
	out := fs.String("out", "reports/out", "where to write the merged report")
	name := fs.String("name", "report", "the merged report's file name, without extension")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: netcert-report [flags] [FILE.json ...]\nmerges netcert suite reports into %s\n", "<out>/<name>.{json,junit.xml,html,md}")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		found, err := filepath.Glob(filepath.Join(*in, "*.json"))
		if err != nil {
			fmt.Fprintf(stderr, "netcert-report: %v\n", err)
			return 2
		}
		sort.Strings(found)
		files = found
		if len(files) == 0 {
			fmt.Fprintf(stderr, "netcert-report: no suite report in %s (run a suite first: make suite SUITE=smoke); writing an empty report\n", *in)
		}
	}
	rep, err := reports.Merge(files)
	if err != nil {
		fmt.Fprintf(stderr, "netcert-report: %v\n", err)
		return 1
	}
	paths, err := reports.WriteFiles(*out, *name, rep)
	if err != nil {
		fmt.Fprintf(stderr, "netcert-report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "merged %d run(s) from %d file(s):\n", len(rep.Runs), len(files))
	for _, p := range paths {
		fmt.Fprintf(stdout, "  %s\n", p)
	}
	return 0
}
