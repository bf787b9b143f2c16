package node

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Fake is an in-memory node for unit tests. Each command line (argv joined by spaces) is answered
// by the handler registered for it, or for its longest registered prefix; an unknown command
// fails like a missing program (exit 127).
type Fake struct {
	name     string
	mu       sync.Mutex
	handlers map[string]FakeHandler
	calls    []string
}

// FakeHandler answers one command on a Fake node: its standard output and exit code.
type FakeHandler func(argv []string) (stdout string, exitCode int)

// NewFake returns a fake node called name.
func NewFake(name string) *Fake {
	return &Fake{name: name, handlers: map[string]FakeHandler{}}
}

// Name returns the node's name.
func (f *Fake) Name() string { return f.name }

// Handle answers the commands that start with prefix.
func (f *Fake) Handle(prefix string, h FakeHandler) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[prefix] = h
	return f
}

// Reply answers the commands that start with prefix with stdout and exit code 0.
func (f *Fake) Reply(prefix, stdout string) *Fake {
	return f.Handle(prefix, func([]string) (string, int) { return stdout, 0 })
}

// Calls returns every command line run so far, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Exec runs argv against the registered handlers.
func (f *Fake) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	line := strings.Join(argv, " ")
	f.mu.Lock()
	f.calls = append(f.calls, line)
	var best string
	var h FakeHandler
	for prefix, candidate := range f.handlers {
		if (line == prefix || strings.HasPrefix(line, prefix+" ")) && len(prefix) >= len(best) {
			best, h = prefix, candidate
		}
	}
	f.mu.Unlock()
	if h == nil {
		return nil, []byte(argv[0] + ": not found"), &ExecError{Node: f.name, Argv: argv, ExitCode: 127, Stderr: argv[0] + ": not found"}
	}
	stdout, code := h(argv)
	if code != 0 {
		msg := fmt.Sprintf("exit %d", code)
		return []byte(stdout), []byte(msg), &ExecError{Node: f.name, Argv: argv, ExitCode: code, Stderr: msg}
	}
	return []byte(stdout), nil, nil
}
