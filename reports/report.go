// Package reports records what the suites did — per suite and fault, each step's outcome and
// duration, the findings with their evidence, time to detect and to repair — and writes it as
// JUnit XML, as versioned JSON (schema.json) and as a self-contained HTML certification matrix.
package reports

import "time"

// Schema names the JSON format; it changes only when a change would break a reader.
const Schema = "netcert.report/v1"

// Report is the JSON document: one run per suite run.
type Report struct {
	Schema    string    `json:"schema"`
	Generated time.Time `json:"generated"`
	Runs      []Run     `json:"runs"`
	// Repetition is, when a suite ran more than once (a soak), each case's flake rate over its runs.
	Repetition []CaseRate `json:"repetition,omitempty"`
}

// InfrastructureCase names the cluster's coming up among a suite's cases (JUnit, repetition).
const InfrastructureCase = "infrastructure"

// CaseRate is how often one case of one suite failed over repeated runs of it (skipped runs do not
// count; a run whose cluster never came up counts as a failed `infrastructure` case).
type CaseRate struct {
	Suite  string  `json:"suite"`
	Case   string  `json:"case"`
	Runs   int     `json:"runs"`
	Failed int     `json:"failed"`
	Rate   float64 `json:"flake_rate"` // Failed / Runs
}

// Status says how a suite run ended.
type Status string

const (
	StatusPassed      Status = "passed"
	StatusFailed      Status = "failed"
	StatusInterrupted Status = "interrupted"    // a signal or the test timeout ended it
	StatusInfraFailed Status = "infrastructure" // the cluster never came up
	StatusEmpty       Status = "empty"          // nothing ran (every feature filtered out or skipped)
)

// Run is one suite run against one cluster.
type Run struct {
	Suite          string          `json:"suite"`
	CNI            string          `json:"cni"`
	Status         Status          `json:"status"`
	Started        time.Time       `json:"started"`
	DurationMS     int64           `json:"duration_ms"`
	Environment    Environment     `json:"environment"`
	Infrastructure Step            `json:"infrastructure"` // creating the cluster and waiting for it
	Cases          map[string]Case `json:"cases"`          // keyed by case ID (Case.ID)
}

// Environment is what the run ran on.
type Environment struct {
	KubernetesVersion string `json:"kubernetes_version"`
	CNI               string `json:"cni"`
	CNIVersion        string `json:"cni_version"`
	KernelVersion     string `json:"kernel_version"`
	NetcertCommit     string `json:"netcert_commit"`
	NodeCount         int    `json:"node_count"`
	Images            string `json:"images"` // local or upstream
	// KubeProxyMode is kube-proxy's data plane: iptables (kube-proxy's default) or nftables.
	KubeProxyMode string `json:"kube_proxy_mode,omitempty"`
}

// Axis is the run's column of the certification matrix: its CNI, and kube-proxy's mode when it
// is not the default iptables.
func (r Run) Axis() string {
	if m := r.Environment.KubeProxyMode; m != "" && m != "iptables" {
		return r.CNI + " · kube-proxy " + m
	}
	return r.CNI
}

// Outcome is a step's or a case's result.
type Outcome string

const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Skipped Outcome = "skipped"
)

// Case is one feature of a suite: a fault's scenario (ID = the fault ID, or "<fault>/<variant>"),
// or a feature without a fault (fault "none").
type Case struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Fault      string    `json:"fault"`
	Variant    string    `json:"variant,omitempty"`
	Outcome    Outcome   `json:"outcome"`
	SkipReason string    `json:"skip_reason,omitempty"` // why a skipped case does not apply (to this CNI)
	DurationMS int64     `json:"duration_ms"`
	Steps      []Step    `json:"steps"`
	Findings   []Finding `json:"findings,omitempty"` // what detection named
	// TimeToDetectMS and TimeToRepairMS are absent when the step did not get that far.
	TimeToDetectMS *int64 `json:"time_to_detect_ms,omitempty"`
	TimeToRepairMS *int64 `json:"time_to_repair_ms,omitempty"`
	// SweepMS is a whole doctor sweep (every check, real traffic included) on a healthy cluster:
	// what a sweep costs when there is nothing to find (the healthy-cluster case).
	SweepMS *int64 `json:"sweep_ms,omitempty"`
	// ManualRepair: the repair is a plan for a person (netcert does not apply it); the test bed
	// then takes its steps by reverting the fault.
	ManualRepair bool `json:"manual_repair,omitempty"`
	// HealedByCNI: the traffic the fault broke flowed again before detection ran — the CNI
	// repaired the fault on its own.
	HealedByCNI bool `json:"healed_by_cni"`
	// Paths tallies traffic cases per path ID (pod-to-pod/cross-node, …): for a fault, those sent
	// while it was injected (which paths it broke); for the traffic matrix, its run.
	Paths map[string]PathTally `json:"paths,omitempty"`
}

// PathTally counts the traffic cases of one path that passed and failed.
type PathTally struct {
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

// Step is one step of a case, or the infrastructure.
type Step struct {
	Name       string   `json:"name"`
	Outcome    Outcome  `json:"outcome"`
	DurationMS int64    `json:"duration_ms"`
	Messages   []string `json:"messages,omitempty"` // the failures the step reported
}

// Finding is a doctor finding, as reported.
type Finding struct {
	Check    string     `json:"check"`
	Status   string     `json:"status"`
	Node     string     `json:"node,omitempty"`
	Object   string     `json:"object,omitempty"`
	Summary  string     `json:"summary"`
	Evidence []Evidence `json:"evidence,omitempty"`
	Path     string     `json:"path,omitempty"`      // the traffic path it is about
	CausedBy string     `json:"caused_by,omitempty"` // a consequence: the root cause that explains it
}

// Evidence is what a finding was read from, and what it returned.
type Evidence struct {
	Source string `json:"source"`
	Output string `json:"output"`
}

// ms returns d in whole milliseconds.
func ms(d time.Duration) int64 { return d.Milliseconds() }
