package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Kind names the protocol a Result was measured with.
type Kind string

// The kinds of check a probe can run.
const (
	KindHTTP Kind = "http"
	KindTCP  Kind = "tcp"
	KindUDP  Kind = "udp"
	KindDNS  Kind = "dns"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindHTTP, KindTCP, KindUDP, KindDNS:
		return true
	}
	return false
}

// Result is the outcome of one check. It is what netcert-probe prints as a
// single JSON line on stdout.
type Result struct {
	// Kind is the protocol used: http, tcp, udp or dns.
	Kind Kind `json:"kind"`
	// Target is the URL, HOST:PORT or DNS name that was checked.
	Target string `json:"target"`
	// OK is true when the check succeeded.
	OK bool `json:"ok"`
	// LatencyMS is how long the check took, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	// Detail is the HTTP body, the echoed nonce or the DNS answers.
	Detail string `json:"detail"`
	// Error is the error text when OK is false, empty otherwise.
	Error string `json:"error"`
}

// Latency returns LatencyMS as a time.Duration.
func (r Result) Latency() time.Duration {
	return time.Duration(r.LatencyMS * float64(time.Millisecond))
}

// Err returns the failure as an error, or nil when the check succeeded.
func (r Result) Err() error {
	if r.OK {
		return nil
	}
	if r.Error == "" {
		return fmt.Errorf("%s %s: failed", r.Kind, r.Target)
	}
	return fmt.Errorf("%s %s: %s", r.Kind, r.Target, r.Error)
}

// Marshal returns r as one line of JSON, without a trailing newline.
func (r Result) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "->" in error texts readable
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseResult decodes the JSON line printed by netcert-probe. Surrounding
// white space is ignored and, when the output holds several lines, the last
// non-empty one is decoded.
func ParseResult(data []byte) (Result, error) {
	data = bytes.TrimSpace(data)
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = bytes.TrimSpace(data[i+1:])
	}
	if len(data) == 0 {
		return Result{}, errors.New("parse result: empty output")
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return Result{}, fmt.Errorf("parse result %q: %w", truncate(string(data), 200), err)
	}
	if !r.Kind.Valid() {
		return Result{}, fmt.Errorf("parse result: unknown kind %q", r.Kind)
	}
	return r, nil
}

// newResult starts a Result for kind and target.
func newResult(kind Kind, target string) Result {
	return Result{Kind: kind, Target: target}
}

// finish records the latency since start and the outcome err on r.
func (r *Result) finish(start time.Time, detail string, err error) Result {
	ms := float64(time.Since(start)) / float64(time.Millisecond)
	r.LatencyMS = math.Round(ms*1000) / 1000
	r.Detail = detail
	r.OK = err == nil
	r.Error = ""
	if err != nil {
		r.Error = err.Error()
	}
	return *r
}

// truncate shortens s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
