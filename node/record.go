package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Call is one command a node ran: what it printed, how it ended and how long it took.
type Call struct {
	Argv   []string `json:"argv"`
	Stdout string   `json:"stdout"`
	Stderr string   `json:"stderr,omitempty"`
	// Exit is the exit code of a command that ran; -1 when the node could not be reached (Err).
	Exit   int     `json:"exit"`
	Err    string  `json:"error,omitempty"`
	Millis float64 `json:"ms"`
}

// Recorder is a Node that keeps every command it runs with its answer and duration: for a bug
// report (what netcert saw), or to replay the node at scale in benchmarks (Replay).
type Recorder struct {
	Node
	mu    sync.Mutex
	calls []Call
}

// Record wraps n.
func Record(n Node) *Recorder { return &Recorder{Node: n} }

// Unwrap returns the node it records.
func (r *Recorder) Unwrap() Node { return r.Node }

// Exec runs argv on the node and keeps the call.
func (r *Recorder) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	start := time.Now()
	stdout, stderr, err := r.Node.Exec(ctx, argv...)
	call := Call{Argv: argv, Stdout: string(stdout), Stderr: string(stderr), Millis: float64(time.Since(start).Microseconds()) / 1000}
	if code, ran := ExitCode(err); ran {
		call.Exit = code
	} else if err != nil {
		call.Exit, call.Err = -1, err.Error()
	}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	return stdout, stderr, err
}

// Calls returns the calls so far, in the order they ended.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// WriteTo writes the calls as JSON to dir/<node>.json.
func (r *Recorder) WriteTo(dir string) (string, error) {
	data, err := json.MarshalIndent(r.Calls(), "", " ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.Name()+".json")
	return path, os.WriteFile(path, append(data, '\n'), 0o644)
}

// Replay is a node that answers each command as a recorded node did (the last answer recorded
// for the same command line, else for the same program and script — `sh -c SCRIPT` with other
// arguments, which name another node's addresses), after the time it took then, scaled by Speed;
// a command it has no answer for fails like a missing program. It writes nothing and reaches
// nothing.
type Replay struct {
	name    string
	answers map[string]Call
	// Speed divides the recorded durations (0 or 1: as recorded).
	Speed float64
}

// LoadReplay reads a Recorder's file and answers as that node under the name name.
func LoadReplay(path, name string) (*Replay, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var calls []Call
	if err := json.Unmarshal(data, &calls); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(calls) == 0 {
		return nil, fmt.Errorf("%s: no recorded command", path)
	}
	r := &Replay{name: name, answers: map[string]Call{}}
	for _, c := range calls {
		r.answers[strings.Join(c.Argv, "\x00")] = c
		if len(c.Argv) > 3 {
			r.answers[scriptKey(c.Argv)] = c
		}
	}
	return r, nil
}

// Name returns the name the replay answers as.
func (r *Replay) Name() string { return r.name }

// Exec answers argv as recorded, after the recorded time.
func (r *Replay) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c, ok := r.answers[strings.Join(argv, "\x00")]
	if !ok && len(argv) > 3 {
		c, ok = r.answers[scriptKey(argv)]
	}
	if !ok {
		return nil, []byte(argv[0] + ": not recorded"), &ExecError{Node: r.name, Argv: argv, ExitCode: 127, Stderr: argv[0] + ": not recorded"}
	}
	d := time.Duration(c.Millis * float64(time.Millisecond))
	if r.Speed > 0 {
		d = time.Duration(float64(d) / r.Speed)
	}
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-time.After(d):
	}
	switch {
	case c.Exit == -1:
		return nil, nil, errors.New(c.Err)
	case c.Exit != 0:
		return []byte(c.Stdout), []byte(c.Stderr), &ExecError{Node: r.name, Argv: argv, ExitCode: c.Exit, Stderr: c.Stderr}
	}
	return []byte(c.Stdout), []byte(c.Stderr), nil
}

// scriptKey names a command by its program and script only (its first three words).
func scriptKey(argv []string) string { return "script\x00" + strings.Join(argv[:3], "\x00") }
