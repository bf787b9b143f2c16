package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed report.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs": func(ms int64) float64 { return float64(ms) / 1000 },
	"add":  func(a, b int) int { return a + b },
}).Parse(htmlTemplate))

// WriteHTML writes the report as one self-contained page (no scripts, styles or fonts fetched):
// the key figures, the certification matrix (case × CNI: outcome, time to detect and to repair,
// the steps and the findings' evidence in expandable sections), a chart of the times, and the
// runs with their environment.
func WriteHTML(w io.Writer, rep Report) error {
	m := buildMatrix(rep)
	var suites []string
	for _, r := range rep.Runs {
		suites = append(suites, r.Suite)
	}
	title := strings.Join(suites, ", ")
	if title == "" {
		title = "no run"
	}
	err := page.Execute(w, map[string]any{"Title": title, "Generated": rep.Generated.Format("2006-01-02 15:04:05Z"),
		"Schema": rep.Schema, "M": m, "Chart": buildChart(m)})
	if err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}
