package reports

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The JUnit XML elements netcert writes (the common Ant/Jenkins dialect that CI systems read).
type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

// junitCounts are the attributes that sum up test cases.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

func (c *junitCounts) add(o junitCounts) {
	c.Tests, c.Failures, c.Errors, c.Skipped = c.Tests+o.Tests, c.Failures+o.Failures, c.Errors+o.Errors, c.Skipped+o.Skipped
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes the report as JUnit XML: a test suite per run, a test case per case (class
// name netcert.<cni>, name the case ID), failures with the failed steps' messages and the
// findings' evidence; a cluster that never came up is an error case named "infrastructure", an
// interrupted run an error case named "interrupted", and a run where nothing ran a skipped case.
func WriteJUnit(w io.Writer, rep Report) error {
	out := junitSuites{Name: "netcert"}
	var total int64
	for _, run := range rep.Runs {
		s := junitSuite{Name: "netcert/" + run.Suite, junitCounts: junitCounts{Time: seconds(run.DurationMS)}, Timestamp: run.Started.Format("2006-01-02T15:04:05Z")}
		s.Properties = environmentProperties(run)
		class := "netcert." + run.CNI
		for _, c := range sortedCases(run) {
			jc := junitCase{ClassName: class, Name: c.ID, Time: seconds(c.DurationMS), SystemOut: &junitText{stepLines(c.Steps)}}
			switch c.Outcome {
			case Failed:
				jc.Failure = &junitMessage{Message: failureMessage(c), Type: "netcert.step", Text: failureText(c)}
			case Skipped:
				jc.Skipped = &junitMessage{Message: cmp.Or(c.SkipReason, "not run")}
			}
			s.Cases = append(s.Cases, jc)
		}
		switch run.Status {
		case StatusInfraFailed:
			s.Cases = append(s.Cases, junitCase{ClassName: class, Name: InfrastructureCase, Time: seconds(run.Infrastructure.DurationMS),
				Error: &junitMessage{Message: "the cluster never came up", Type: "netcert.infrastructure", Text: strings.Join(run.Infrastructure.Messages, "\n")}})
		case StatusInterrupted:
			s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "interrupted",
				Error: &junitMessage{Message: "the run was interrupted before it finished", Type: "netcert.interrupted"}})
		case StatusEmpty:
			s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "run", Skipped: &junitMessage{Message: "nothing ran (every feature filtered out or skipped)"}})
		}
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		out.add(s.junitCounts)
		total += run.DurationMS
		out.Suites = append(out.Suites, s)
	}
	out.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func environmentProperties(run Run) []junitProperty {
	e := run.Environment
	return []junitProperty{
		{"status", string(run.Status)}, {"cni", e.CNI}, {"cni_version", e.CNIVersion}, {"kube_proxy_mode", e.KubeProxyMode},
		{"kubernetes_version", e.KubernetesVersion}, {"kernel_version", e.KernelVersion},
		{"netcert_commit", e.NetcertCommit}, {"node_count", fmt.Sprint(e.NodeCount)}, {"images", e.Images},
	}
}

// sortedCases returns a run's cases by ID.
func sortedCases(run Run) []Case {
	out := make([]Case, 0, len(run.Cases))
	for _, c := range run.Cases {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// failureMessage names the first failed step and its first message.
func failureMessage(c Case) string {
	for _, s := range c.Steps {
		if s.Outcome == Failed {
			if len(s.Messages) > 0 {
				return s.Name + ": " + firstLine(s.Messages[0])
			}
			return s.Name
		}
	}
	return "failed"
}

// failureText is every failed step's messages, then the findings with their evidence.
func failureText(c Case) string {
	var b strings.Builder
	for _, s := range c.Steps {
		if s.Outcome != Failed {
			continue
		}
		fmt.Fprintf(&b, "step %q failed:\n", s.Name)
		for _, m := range s.Messages {
			fmt.Fprintf(&b, "%s\n", m)
		}
	}
	for _, f := range c.Findings {
		fmt.Fprintf(&b, "\nfinding %s %s %s: %s\n", f.Status, f.Check, findingWhere(f), f.Summary)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "  evidence %s:\n%s\n", e.Source, indent(e.Output, "    "))
		}
	}
	return b.String()
}

func stepLines(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%-7s %8s  %s\n", s.Outcome, seconds(s.DurationMS)+"s", s.Name)
	}
	return b.String()
}

func findingWhere(f Finding) string {
	return strings.TrimSpace("[" + strings.TrimSpace(f.Node+" "+f.Object) + "]")
}

func seconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
