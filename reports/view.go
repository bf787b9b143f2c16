package reports

import (
	"fmt"
	"sort"
	"strings"
)

// matrix is the certification matrix of a report: a row per case ID, a column per CNI (and
// kube-proxy mode: Run.Axis).
type matrix struct {
	CNIs []string
	Rows []matrixRow
	Runs []Run
	// Passed, Failed, Skipped count the cells; Infra the runs whose cluster never came up.
	Passed, Failed, Skipped, Infra int
}

type matrixRow struct {
	ID    string
	Cells []cell // one per CNI, in CNIs order
}

// cell is one case on one CNI; Present is false where that CNI did not run the case. Suite names
// every suite that ran it.
type cell struct {
	Present bool
	Suite   string
	Case    Case
}

// merge adds another suite's run of the same case on the same CNI: the worse outcome stands (a
// failure in any suite fails the cell), between equals the later run.
func (c cell) merge(suite string, other Case) cell {
	if !c.Present {
		return cell{Present: true, Suite: suite, Case: other}
	}
	merged := cell{Present: true, Suite: c.Suite + ", " + suite, Case: c.Case}
	if outcomeRank(other.Outcome) >= outcomeRank(c.Case.Outcome) {
		merged.Case = other
	}
	return merged
}

func outcomeRank(o Outcome) int {
	switch o {
	case Failed:
		return 2
	case Passed:
		return 0
	default:
		return 1
	}
}

// Detect and Repair format the times to detect and repair ("" when absent).
func (c cell) Detect() string { return msText(c.Case.TimeToDetectMS) }
func (c cell) Repair() string {
	if c.Case.ManualRepair {
		return "manual"
	}
	return msText(c.Case.TimeToRepairMS)
}

// FailedStep names the first failed step.
func (c cell) FailedStep() string {
	for _, s := range c.Case.Steps {
		if s.Outcome == Failed {
			return s.Name
		}
	}
	return ""
}

func msText(v *int64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf("%.1f s", float64(*v)/1000)
}

// buildMatrix lays the runs out as the matrix; a CNI run by several suites merges their cases
// (see cell.merge).
func buildMatrix(rep Report) matrix {
	m := matrix{Runs: rep.Runs}
	cells := map[string]map[string]cell{} // case ID → CNI → cell
	cnis := map[string]bool{}
	for _, run := range rep.Runs {
		cnis[run.Axis()] = true
		if run.Status == StatusInfraFailed {
			m.Infra++
		}
		for id, c := range run.Cases {
			if cells[id] == nil {
				cells[id] = map[string]cell{}
			}
			cells[id][run.Axis()] = cells[id][run.Axis()].merge(run.Suite, c)
		}
	}
	for cni := range cnis {
		m.CNIs = append(m.CNIs, cni)
	}
	sort.Strings(m.CNIs)
	var ids []string
	for id := range cells {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return caseOrder(ids[i]) < caseOrder(ids[j]) })
	for _, id := range ids {
		row := matrixRow{ID: id}
		for _, cni := range m.CNIs {
			c := cells[id][cni]
			row.Cells = append(row.Cells, c)
			if !c.Present {
				continue
			}
			switch c.Case.Outcome {
			case Passed:
				m.Passed++
			case Failed:
				m.Failed++
			default:
				m.Skipped++
			}
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// caseOrder sorts cases without a fault (the healthy cluster, the traffic matrix) first, then
// faults by ID.
func caseOrder(id string) string {
	if !strings.Contains(id, "-") || id == "healthy-cluster" || id == "traffic-matrix" {
		return "0" + id
	}
	return "1" + id
}

// chartBar is one bar group of the chart: a case on a CNI, its times in milliseconds.
type chartBar struct {
	Label                string
	Detect, Repair       int64
	HasDetect, HasRepair bool
	Y                    int
	DetectW              int
	RepairW              int
}

// chart lays out the time-to-detect and time-to-repair bars as SVG coordinates.
type chart struct {
	Bars          []chartBar
	Width, Height int
	LabelW, BarW  int
	MaxText       string
}

func buildChart(m matrix) chart {
	ch := chart{Width: 820, LabelW: 340, BarW: 400}
	var max int64 = 1
	for _, row := range m.Rows {
		for i, c := range row.Cells {
			if !c.Present || (c.Case.TimeToDetectMS == nil && c.Case.TimeToRepairMS == nil) {
				continue
			}
			b := chartBar{Label: row.ID + " · " + m.CNIs[i]}
			if c.Case.TimeToDetectMS != nil {
				b.Detect, b.HasDetect = *c.Case.TimeToDetectMS, true
			}
			if c.Case.TimeToRepairMS != nil {
				b.Repair, b.HasRepair = *c.Case.TimeToRepairMS, true
			}
			max = maxOf(max, b.Detect, b.Repair)
			ch.Bars = append(ch.Bars, b)
		}
	}
	const rowH = 34
	for i := range ch.Bars {
		b := &ch.Bars[i]
		b.Y = 30 + i*rowH
		b.DetectW = int(int64(ch.BarW) * b.Detect / max)
		b.RepairW = int(int64(ch.BarW) * b.Repair / max)
	}
	ch.Height = 40 + len(ch.Bars)*rowH
	ch.MaxText = fmt.Sprintf("%.1f s", float64(max)/1000)
	return ch
}

func maxOf(v ...int64) int64 {
	m := v[0]
	for _, x := range v[1:] {
		if x > m {
			m = x
		}
	}
	return m
}
