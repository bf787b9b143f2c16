package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// The files a report is written to: <base>.json, <base>.junit.xml, <base>.html and <base>.md.
var writers = []struct {
	ext   string
	write func(io.Writer, Report) error
}{
	{".json", WriteJSON},
	{".junit.xml", WriteJUnit},
	{".html", WriteHTML},
	{".md", WriteMarkdown},
}

// WriteFiles writes the report in every format to dir/<base>.*, each file replaced whole.
func WriteFiles(dir, base string, rep Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	var paths []string
	for _, w := range writers {
		var buf bytes.Buffer
		if err := w.write(&buf, rep); err != nil {
			return paths, err
		}
		path := filepath.Join(dir, base+w.ext)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
			return paths, fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return paths, fmt.Errorf("write %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ReadJSON reads a report and refuses one of another schema.
func ReadJSON(path string) (Report, error) {
	var rep Report
	data, err := os.ReadFile(path)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return rep, fmt.Errorf("%s: not a netcert report: %w", path, err)
	}
	if rep.Schema != Schema {
		return rep, fmt.Errorf("%s: schema %q, want %q", path, rep.Schema, Schema)
	}
	return rep, nil
}

// Merge reads reports and returns one with all their runs, ordered by suite and start time.
func Merge(paths []string) (Report, error) {
	out := Report{Schema: Schema, Generated: time.Now().UTC(), Runs: []Run{}}
	var errs []error
	for _, p := range paths {
		rep, err := ReadJSON(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Runs = append(out.Runs, rep.Runs...)
	}
	sort.SliceStable(out.Runs, func(i, j int) bool {
		a, b := out.Runs[i], out.Runs[j]
		if a.Suite != b.Suite {
			return a.Suite < b.Suite
		}
		return a.Started.Before(b.Started)
	})
	out.Repetition = Repetition(out.Runs)
	return out, errors.Join(errs...)
}

// Repetition returns each case's flake rate over the runs, by suite and case ID, when some suite
// ran more than once; nil otherwise.
func Repetition(runs []Run) []CaseRate {
	count := map[string]int{}
	repeated := false
	for _, r := range runs {
		count[r.Suite]++
		repeated = repeated || count[r.Suite] > 1
	}
	if !repeated {
		return nil
	}
	rates := map[[2]string]*CaseRate{}
	add := func(suite, id string, failed bool) {
		key := [2]string{suite, id}
		if rates[key] == nil {
			rates[key] = &CaseRate{Suite: suite, Case: id}
		}
		rates[key].Runs++
		if failed {
			rates[key].Failed++
		}
	}
	for _, r := range runs {
		add(r.Suite, InfrastructureCase, r.Status == StatusInfraFailed)
		for id, c := range r.Cases {
			if c.Outcome != Skipped {
				add(r.Suite, id, c.Outcome == Failed)
			}
		}
	}
	out := make([]CaseRate, 0, len(rates))
	for _, cr := range rates {
		cr.Rate = float64(cr.Failed) / float64(cr.Runs)
		out = append(out, *cr)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Suite != out[j].Suite {
			return out[i].Suite < out[j].Suite
		}
		return out[i].Case < out[j].Case
	})
	return out
}
