package reports

import (
	"cmp"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the certification matrix as Markdown, for a CI job summary.
func WriteMarkdown(w io.Writer, rep Report) error {
	m := buildMatrix(rep)
	var b strings.Builder
	var suites []string
	for _, r := range rep.Runs {
		suites = append(suites, r.Suite)
	}
	fmt.Fprintf(&b, "## netcert certification: %s\n\n", strings.Join(suites, ", "))
	fmt.Fprintf(&b, "**%d passed · %d failed** · %d not run · %d cluster(s) never came up\n\n", m.Passed, m.Failed, m.Skipped, m.Infra)
	if len(m.Rows) > 0 {
		fmt.Fprintf(&b, "| case | %s |\n|---|%s\n", strings.Join(m.CNIs, " | "), strings.Repeat("---|", len(m.CNIs)))
		for _, row := range m.Rows {
			cells := make([]string, len(row.Cells))
			for i, c := range row.Cells {
				cells[i] = markdownCell(c)
			}
			fmt.Fprintf(&b, "| %s | %s |\n", row.ID, strings.Join(cells, " | "))
		}
		b.WriteString("\n")
	}
	b.WriteString("| suite | status | Kubernetes | CNI | kernel | nodes | netcert |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Runs {
		e := r.Environment
		status := string(r.Status)
		if r.Status == StatusInfraFailed && len(r.Infrastructure.Messages) > 0 {
			status += ": " + markdownEscape(firstLine(r.Infrastructure.Messages[0]))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s %s | %s | %d | %s |\n", r.Suite, status, e.KubernetesVersion, e.CNI, e.CNIVersion,
			e.KernelVersion, e.NodeCount, e.NetcertCommit)
	}
	if len(rep.Repetition) > 0 {
		b.WriteString("\n| suite | case | runs | failed | flake rate |\n|---|---|---|---|---|\n")
		for _, cr := range rep.Repetition {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %.0f%% |\n", cr.Suite, cr.Case, cr.Runs, cr.Failed, 100*cr.Rate)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func markdownCell(c cell) string {
	if !c.Present {
		return "—"
	}
	var parts []string
	switch c.Case.Outcome {
	case Passed:
		parts = append(parts, "✅ passed")
	case Failed:
		parts = append(parts, fmt.Sprintf("❌ failed at %q", c.FailedStep()))
	default:
		parts = append(parts, "⏭ "+strings.ReplaceAll(cmp.Or(c.Case.SkipReason, "not run"), "|", "/"))
	}
	if d := c.Detect(); d != "" {
		parts = append(parts, "detected "+d)
	}
	if r := c.Repair(); r != "" {
		parts = append(parts, "repaired "+r)
	}
	if c.Case.HealedByCNI {
		parts = append(parts, "healed by the CNI")
	}
	if sweep := msText(c.Case.SweepMS); sweep != "" {
		parts = append(parts, "sweep "+sweep)
	}
	return markdownEscape(strings.Join(parts, " · "))
}

func markdownEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
