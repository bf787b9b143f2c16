package main

import (
	"fmt"
	"os"
	"syscall"
)

const progName = "netcert-runc-capfilter"

func main() {
	runc, err := prepare(os.Args)
	if err != nil {
		fail(err)
	}
	argv := append([]string{runc}, os.Args[1:]...)
	err = syscall.Exec(runc, argv, os.Environ())
	fail(fmt.Errorf("exec %s: %w", runc, err))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "%s: error: %v\n", progName, err)
	os.Exit(1)
}

// prepare filters the spec file named by args, if any, and returns the path
// of the real runc to exec.
func prepare(args []string) (string, error) {
	runc, err := findRealRunc(os.Getenv, selfInfo())
	if err != nil {
		return "", err
	}
	inv, err := parseArgs(args)
	if err != nil {
		return "", err
	}
	file, capsPath, ok := inv.SpecFile()
	if !ok {
		return runc, nil
	}
	bnd, err := boundingSet()
	if err != nil {
		return "", err
	}
	if len(bnd.missing()) == 0 {
		return runc, nil // nothing could ever be removed
	}
	removed, err := filterSpecFile(file, capsPath, bnd)
	if err != nil {
		return "", fmt.Errorf("runc %s: dropping capabilities outside the bounding set: %w", inv.Command, err)
	}
	if len(removed) > 0 && os.Getenv("NETCERT_CAPFILTER_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "%s: %s: removed %v\n", progName, file, removed)
	}
	return runc, nil
}
