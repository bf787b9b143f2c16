package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// shellLoop is the script a Shells session runs on the node: it reads one request a line (an id
// and a base64 shell-quoted argv), runs the command with no input, and ends its output on both
// streams with a line holding the session's token, the id and, on stdout, the exit status. It
// writes nothing on the node and exits when its input closes.
const shellLoop = `T="$1"
while IFS= read -r req; do
  id=${req%% *}
  eval "set -- $(printf '%s' "${req#* }" | base64 -d)"
  "$@" </dev/null
  rc=$?
  printf '\n%s %s %s\n' "$T" "$id" "$rc"
  printf '\n%s %s\n' "$T" "$id" >&2
done`

// ShellsPerNode is how many shell sessions a node keeps at most: commands of concurrent checks
// run side by side up to this many.
const ShellsPerNode = 4

// shellIdle is how long an unused session stays open.
const shellIdle = 10 * time.Second

// Shells runs a node's commands through a few long-lived shells on it (one `docker exec -i … sh`
// each, started on demand) instead of one exec per command: a command then costs a fork on the
// node, not a docker exec (≈80 ms on an idle 2-core machine, seconds when busy). Sessions close
// after shellIdle unused, when Close is called, or when this process exits (their input closes).
// A command whose context ends poisons its session, which is killed; a node where no session
// starts falls back to exec per command (fallback).
type Shells struct {
	name     string
	start    func(loop []string) (*process, error) // runs the loop's argv on the node
	ran      func(code int) bool                   // whether a command that exited code ran (an ExecError) or could not be run
	fallback Node                                  // exec per command, when sessions cannot start
	mu       sync.Mutex
	idle     []*shell
	open     int
	wake     chan struct{}
	broken   error // sessions could not start: use the fallback
}

// process is a running shell loop: its input, its outputs, and how to end it.
type process struct {
	stdin          io.WriteCloser
	stdout, stderr io.Reader
	done           <-chan struct{} // closed when it ended
	kill           func()
}

// NewShells returns a Node named name whose sessions run the loop with start (a command line that
// runs the given argv on the node: docker exec -i), and that falls back to fallback. As docker
// exec, exit statuses from 125 up mean the command could not be run.
func NewShells(name string, start func(argv ...string) *exec.Cmd, fallback Node) *Shells {
	return newShells(name, func(loop []string) (*process, error) { return commandProcess(start(loop...)) },
		func(code int) bool { return code < 125 }, fallback)
}

func newShells(name string, start func(loop []string) (*process, error), ran func(code int) bool, fallback Node) *Shells {
	return &Shells{name: name, start: start, ran: ran, fallback: fallback, wake: make(chan struct{}, 1)}
}

// commandProcess starts cmd as a session's process.
func commandProcess(cmd *exec.Cmd) (*process, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return &process{stdin: stdin, stdout: stdout, stderr: stderr, done: done, kill: func() { _ = cmd.Process.Kill() }}, nil
}

// Name returns the node's name.
func (s *Shells) Name() string { return s.name }

// Exec runs argv in one of the node's sessions.
func (s *Shells) Exec(ctx context.Context, argv ...string) ([]byte, []byte, error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("exec: empty command")
	}
	sh, err := s.take(ctx)
	if err != nil {
		if errors.Is(err, errNoShell) {
			return s.fallback.Exec(ctx, argv...)
		}
		return nil, nil, err
	}
	stdout, stderr, code, err := sh.run(ctx, argv)
	if err != nil {
		_ = sh.stdin.Close()
		sh.kill()
		s.release(nil)
		return stdout, stderr, fmt.Errorf("%s: cannot run %v: %w", s.name, argv, err)
	}
	s.release(sh)
	switch {
	case code == 0:
		return stdout, stderr, nil
	case s.ran(code):
		return stdout, stderr, &ExecError{Node: s.name, Argv: argv, ExitCode: code, Stderr: string(stderr)}
	}
	return stdout, stderr, fmt.Errorf("%s: cannot run %v: exit status %d: %s", s.name, argv, code, bytes.TrimSpace(stderr))
}

var errNoShell = errors.New("no shell session")

// take returns an idle session, a new one while fewer than ShellsPerNode are open, or waits.
func (s *Shells) take(ctx context.Context) (*shell, error) {
	for {
		s.mu.Lock()
		switch {
		case s.broken != nil:
			s.mu.Unlock()
			return nil, errNoShell
		case len(s.idle) > 0:
			sh := s.idle[len(s.idle)-1]
			s.idle = s.idle[:len(s.idle)-1]
			s.mu.Unlock()
			sh.timer.Stop()
			if sh.alive() {
				return sh, nil
			}
			s.release(nil)
			continue
		case s.open < ShellsPerNode:
			s.open++
			s.mu.Unlock()
			sh, err := startShell(s.start)
			if err != nil {
				s.mu.Lock()
				s.open--
				s.broken = err
				s.mu.Unlock()
				return nil, errNoShell
			}
			return sh, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.wake:
		}
	}
}

// release puts sh back (nil: a session ended) and wakes a waiter.
func (s *Shells) release(sh *shell) {
	s.mu.Lock()
	if sh == nil {
		s.open--
	} else {
		s.idle = append(s.idle, sh)
		sh.timer = time.AfterFunc(shellIdle, func() { s.closeIdle(sh) })
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// closeIdle ends sh if it is still idle.
func (s *Shells) closeIdle(sh *shell) {
	s.mu.Lock()
	for i, idle := range s.idle {
		if idle == sh {
			s.idle = append(s.idle[:i], s.idle[i+1:]...)
			s.open--
			s.mu.Unlock()
			sh.close()
			return
		}
	}
	s.mu.Unlock()
}

// Close ends the idle sessions (busy ones end when their command returns and they idle out).
func (s *Shells) Close() {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.open = nil, s.open-len(idle)
	s.mu.Unlock()
	for _, sh := range idle {
		sh.timer.Stop()
		sh.close()
	}
}

// Close ends what the nodes hold open (Shells' idle sessions), through this package's wrappers.
func Close(nodes []Node) {
	for _, n := range nodes {
		for n != nil {
			if c, ok := n.(interface{ Close() }); ok {
				c.Close()
			}
			u, ok := n.(interface{ Unwrap() Node })
			if !ok {
				break
			}
			n = u.Unwrap()
		}
	}
}

// shell is one session: the process, and its two output streams cut into records.
type shell struct {
	*process
	token    string
	out, err chan record
	next     int
	timer    *time.Timer
}

// record is one command's output on one stream, with the exit status on stdout.
type record struct {
	id   string
	code int
	data []byte
}

var errSessionEnded = errors.New("the shell session ended")

func startShell(start func(loop []string) (*process, error)) (*shell, error) {
	tok := make([]byte, 12)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	token := "@@netcert-" + hex.EncodeToString(tok)
	p, err := start([]string{"sh", "-c", shellLoop, "netcert-shell", token})
	if err != nil {
		return nil, err
	}
	sh := &shell{process: p, token: token, out: make(chan record, 1), err: make(chan record, 1)}
	go sh.split(p.stdout, sh.out, true)
	go sh.split(p.stderr, sh.err, false)
	// A first command proves the session runs (sh, base64 and the loop on the node).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, code, err := sh.run(ctx, []string{"true"}); err != nil || code != 0 {
		sh.kill()
		return nil, fmt.Errorf("a shell session does not start (exit %d): %v", code, err)
	}
	return sh, nil
}

// split cuts a stream into records at the token's lines.
func (sh *shell) split(r io.Reader, to chan<- record, withCode bool) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			close(to) // the session ended
			return
		}
		if rest, ok := bytes.CutPrefix(line, []byte(sh.token+" ")); ok {
			f := strings.Fields(string(rest))
			rec := record{data: bytes.TrimSuffix(bytes.Clone(buf.Bytes()), []byte("\n"))}
			if len(f) > 0 {
				rec.id = f[0]
			}
			if withCode && len(f) > 1 {
				rec.code, _ = strconv.Atoi(f[1])
			}
			buf.Reset()
			select {
			case to <- rec:
			case <-sh.done: // killed with a command abandoned: nobody reads
				return
			}
			continue
		}
		buf.Write(line)
	}
}

// run sends one command and waits for both its records.
func (sh *shell) run(ctx context.Context, argv []string) (stdout, stderr []byte, code int, err error) {
	sh.next++
	id := strconv.Itoa(sh.next)
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	req := id + " " + base64.StdEncoding.EncodeToString([]byte(strings.Join(quoted, " "))) + "\n"
	if _, err := io.WriteString(sh.stdin, req); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", errSessionEnded, err)
	}
	var out, errOut record
	for got := 0; got < 2; {
		select {
		case <-ctx.Done():
			return out.data, errOut.data, 0, ctx.Err()
		case r, ok := <-sh.out:
			if !ok {
				return nil, nil, 0, errSessionEnded
			}
			out = r
			got++
		case r, ok := <-sh.err:
			if !ok {
				return nil, nil, 0, errSessionEnded
			}
			errOut = r
			got++
		}
	}
	if out.id != id || errOut.id != id {
		return nil, nil, 0, fmt.Errorf("the session answered %s/%s to command %s", out.id, errOut.id, id)
	}
	return out.data, errOut.data, out.code, nil
}

func (sh *shell) alive() bool {
	select {
	case <-sh.done:
		return false
	default:
		return true
	}
}

// close ends the session by closing its input: the loop exits.
func (sh *shell) close() {
	_ = sh.stdin.Close()
	select {
	case <-sh.done:
	case <-time.After(5 * time.Second):
		sh.kill()
	}
}
