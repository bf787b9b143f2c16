// Package registry is the one place a fault ID is defined: it pairs the kebab-case ID with its
// problem (check and repair), its injectors, the traffic each injector breaks and the CNIs it
// applies to. The suites, the CLI's check list, certify's faults and the README's fault table
// all come from it.
package registry

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/faults"
	"github.com/netcert/netcert/traffic"
)

// CNIs are the CNIs netcert certifies.
var CNIs = []string{"flannel", "calico"}

// Bed is what an injector needs to know of the cluster it breaks, chosen at run time.
type Bed struct {
	CNI   string
	Node  string // the node the fault breaks: a worker, so the control plane keeps serving
	Other string // another worker, the far end of faults between two nodes
	// The test bed's own fixtures; zero on other clusters (an injector that needs one fails).
	DeadService string     // "namespace/name" of a Service nothing answers behind
	NetworkHost netip.Addr // a host of the node network outside Kubernetes
	ProbeImage  string     // the probe image, for a fault's own workload
}

// Injector is one way to inject a fault: one shape of it.
type Injector struct {
	// Variant tells the injectors of one fault apart ("" for a fault's only or first injector);
	// it labels the suite's feature variant=<Variant>.
	Variant string
	// NotOn says, per CNI, why this injector does not break that CNI's traffic.
	NotOn map[string]string
	// New builds the fault for bed.
	New func(bed Bed) (faults.Fault, error)
	// NewPodFails: the fault breaks what the CNI sets up for the next pod on bed's node, not
	// running traffic: the symptom step requires that a new pod there does not start.
	NewPodFails bool
	// Breaks selects the traffic the fault breaks on bed (nil: none, with NewPodFails): the symptom step requires at least
	// one such case and that every one of them fails.
	Breaks func(bed Bed) func(traffic.Case) bool
	// Consequences are checks that must fail as consequences of the fault (CausedBy naming it):
	// the symptoms of a cascade the doctor must mark, not name as second root causes.
	Consequences []string
	// Repair, if set, is the problem with the consent this injector's repair needs (what a
	// person passes on the command line); nil: the entry's Problem.
	Repair doctor.Problem
	// Manual: the repair is a plan for a person, not applied by netcert (the suite checks the
	// plan names its steps, then takes them by reverting the fault).
	Manual bool
	// Portable: certify can inject it on any cluster, given only a node (no test-bed fixture).
	Portable bool
}

// Entry is one fault ID.
type Entry struct {
	ID        string
	Problem   doctor.Problem // the check and repair, with default settings
	Injectors []Injector
	// NotOn says, per CNI, why the fault does not exist there (the skip reason in reports).
	NotOn map[string]string
	// The README's fault table: what the injector does, what the doctor reasons from, the repair.
	Injected, Reasons, Repairs string
}

// AppliesTo reports whether the fault exists on cni, and if not, why.
func (e Entry) AppliesTo(cni string) (bool, string) {
	if why, ok := e.NotOn[cni]; ok {
		return false, why
	}
	return true, ""
}

// InjectorsFor returns the injectors that break cni's traffic.
func (e Entry) InjectorsFor(cni string) []Injector {
	if ok, _ := e.AppliesTo(cni); !ok {
		return nil
	}
	var out []Injector
	for _, in := range e.Injectors {
		if _, skip := in.NotOn[cni]; !skip {
			out = append(out, in)
		}
	}
	return out
}

// RepairOf returns the problem whose repair the injector's fault needs.
func (e Entry) RepairOf(in Injector) doctor.Problem {
	if in.Repair != nil {
		return in.Repair
	}
	return e.Problem
}

// All returns every entry, in the doctor's causal order (the order Problems returns).
func All() []Entry { return slices.Clone(entries) }

// Lookup returns the entry of id.
func Lookup(id string) (Entry, error) {
	for _, e := range entries {
		if e.ID == id {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("no fault %q (netcert knows: %s)", id, strings.Join(IDs(), ", "))
}

// MustLookup returns the entry of id, or panics: for tables of IDs written in code.
func MustLookup(id string) Entry {
	e, err := Lookup(id)
	if err != nil {
		panic(err)
	}
	return e
}

// IDs returns every fault ID.
func IDs() []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

// Table returns the README's fault table in Markdown: one row per fault, from the entries.
func Table() string {
	var b strings.Builder
	b.WriteString("| fault ID | injected on | injected on the cluster | the doctor reasons from | repair |\n|---|---|---|---|---|\n")
	for _, e := range entries {
		var on []string
		for _, cni := range CNIs {
			if len(e.InjectorsFor(cni)) > 0 {
				on = append(on, cni)
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", e.ID, cmp.Or(strings.Join(on, ", "), "—"), e.Injected, e.Reasons, e.Repairs)
	}
	return b.String()
}

// Missing returns the IDs of the registry that ids leaves out.
func Missing(ids []string) []string {
	var out []string
	for _, e := range entries {
		if !slices.Contains(ids, e.ID) {
			out = append(out, e.ID)
		}
	}
	return out
}
