package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// invocation is what the wrapper needs to know about one runc command line.
type invocation struct {
	// Command is the runc subcommand ("create", "exec", ...), "" if none.
	Command string
	// Help is set when the subcommand was asked for its help text only.
	Help bool
	// Bundle is the bundle directory of create and run ("." by default).
	Bundle string
	// Process is the --process file of exec, "" if not given.
	Process string
}

// SpecFile returns the JSON file to filter and the path, inside it, of the
// capabilities object; ok is false when the invocation needs no filtering.
func (inv invocation) SpecFile() (file string, capsPath []string, ok bool) {
	if inv.Help {
		return "", nil, false
	}
	switch inv.Command {
	case "create", "run":
		return filepath.Join(inv.Bundle, "config.json"), []string{"process", "capabilities"}, true
	case "exec":
		if inv.Process == "" {
			return "", nil, false
		}
		return inv.Process, []string{"capabilities"}, true
	}
	return "", nil, false
}

// flagSpec describes the flags of one runc (urfave/cli v1) flag set: which
// names take a value and the long name of each short alias. Flags not listed
// are taken as booleans (runc itself rejects unknown flags).
type flagSpec struct {
	value map[string]bool
	alias map[string]string
}

func (fs flagSpec) canonical(name string) string {
	if long, ok := fs.alias[name]; ok {
		return long
	}
	return name
}

func names(ns ...string) map[string]bool {
	m := make(map[string]bool, len(ns))
	for _, n := range ns {
		m[n] = true
	}
	return m
}

// The flags of runc 1.1 (main.go, create.go, run.go, exec.go).
var (
	globalFlags = flagSpec{
		value: names("log", "log-format", "root", "criu", "rootless"),
		alias: map[string]string{"h": "help", "v": "version"},
	}
	commandFlags = map[string]flagSpec{
		"create": {
			value: names("bundle", "console-socket", "pid-file", "preserve-fds"),
			alias: map[string]string{"b": "bundle", "h": "help"},
		},
		"run": {
			value: names("bundle", "console-socket", "pid-file", "preserve-fds"),
			alias: map[string]string{"b": "bundle", "d": "detach", "h": "help"},
		},
		"exec": {
			value: names("console-socket", "cwd", "env", "user", "additional-gids", "process",
				"pid-file", "process-label", "apparmor", "cap", "preserve-fds", "cgroup"),
			alias: map[string]string{"e": "env", "t": "tty", "u": "user", "g": "additional-gids",
				"p": "process", "d": "detach", "c": "cap", "h": "help"},
		},
	}
	// reorderedCommands are the subcommands for which urfave/cli moves flags
	// placed after positional arguments in front of them (exec sets
	// SkipArgReorder because its trailing arguments are the command to run).
	reorderedCommands = names("create", "run")
)

// parseArgs interprets a runc command line (args[0] is the program name).
func parseArgs(args []string) (invocation, error) {
	var inv invocation
	if len(args) < 2 {
		return inv, nil
	}
	global, rest, err := parseFlags(args[1:], globalFlags)
	if err != nil {
		return inv, fmt.Errorf("runc global flags: %w", err)
	}
	if global["help"] != nil || global["version"] != nil || len(rest) == 0 {
		return inv, nil
	}
	inv.Command = rest[0]
	spec, known := commandFlags[inv.Command]
	if !known {
		return inv, nil
	}
	cmdArgs := rest[1:]
	if reorderedCommands[inv.Command] {
		cmdArgs = reorderArgs(cmdArgs)
	}
	flags, _, err := parseFlags(cmdArgs, spec)
	if err != nil {
		return inv, fmt.Errorf("runc %s flags: %w", inv.Command, err)
	}
	inv.Help = flags["help"] != nil
	inv.Bundle = "."
	if b := last(flags["bundle"]); b != "" {
		inv.Bundle = b
	}
	inv.Process = last(flags["process"])
	return inv, nil
}

func last(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// parseFlags follows the rules of Go's flag package, which urfave/cli uses:
// "-name" and "--name" are the same, a value is given as "-name=value" or as
// the next argument, "--" ends the flags, and parsing stops at the first
// argument that is not a flag ("-" alone is not a flag). It returns every
// value seen per canonical flag name (booleans record ""), and the arguments
// left after the flags.
func parseFlags(args []string, spec flagSpec) (map[string][]string, []string, error) {
	seen := map[string][]string{}
	for i := 0; i < len(args); i++ {
		s := args[i]
		if len(s) < 2 || s[0] != '-' {
			return seen, args[i:], nil
		}
		name := s[1:]
		if s[1] == '-' {
			if len(s) == 2 { // "--": end of flags
				return seen, args[i+1:], nil
			}
			name = s[2:]
		}
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, nil, fmt.Errorf("bad flag syntax: %s", s)
		}
		value, hasValue := "", false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value, hasValue = name[:eq], name[eq+1:], true
		}
		name = spec.canonical(name)
		if spec.value[name] && !hasValue {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag needs an argument: %s", s)
			}
			i++
			value = args[i]
		}
		seen[name] = append(seen[name], value)
	}
	return seen, nil, nil
}

// reorderArgs is urfave/cli v1's reorderArgs: it moves flags (and the
// argument following a flag without "=", unless that one looks like a flag)
// in front of the positional arguments, up to a "--".
func reorderArgs(args []string) []string {
	var nonflags, flags []string
	readFlagValue := false
	for i, arg := range args {
		if arg == "--" {
			nonflags = append(nonflags, args[i:]...)
			break
		}
		if readFlagValue && !strings.HasPrefix(arg, "-") {
			readFlagValue = false
			flags = append(flags, arg)
			continue
		}
		readFlagValue = false
		if arg != "-" && strings.HasPrefix(arg, "-") {
			flags = append(flags, arg)
			readFlagValue = !strings.Contains(arg, "=")
		} else {
			nonflags = append(nonflags, arg)
		}
	}
	return append(flags, nonflags...)
}
