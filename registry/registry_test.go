package registry

import (
	"flag"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/netcert/netcert/doctor"
	"github.com/netcert/netcert/traffic"
)

var update = flag.Bool("update", false, "rewrite the README's generated fault table")

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// A testbed's Bed with every fixture, for building every injector's fault.
var fullBed = Bed{Node: "kind-worker", Other: "kind-worker2", DeadService: "netcert-system/dead-upstream",
	NetworkHost: netip.MustParseAddr("172.18.0.200"), ProbeImage: "netcert/probe:local"}

// Every entry pairs an ID with the problem of that ID and injectors of faults of that ID, which
// apply exactly to the CNIs the registry says; mis-pairing fails here.
func TestEntriesArePaired(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range All() {
		assert.Regexp(t, kebab, e.ID)
		assert.False(t, seen[e.ID], "%s twice", e.ID)
		seen[e.ID] = true
		assert.Equal(t, e.ID, e.Problem.ID(), "the problem of %s", e.ID)
		injectable := false
		for _, cni := range CNIs {
			ok, why := e.AppliesTo(cni)
			injectable = injectable || ok
			assert.True(t, ok || why != "", "%s on %s: a skip needs its reason", e.ID, cni)
		}
		assert.Equal(t, injectable, len(e.Injectors) > 0, "%s: injectors exactly where the fault can be injected", e.ID)
		assert.NotEmpty(t, e.Injected+e.Reasons+e.Repairs, "%s: the README's row", e.ID)
		variants := map[string]bool{}
		for _, in := range e.Injectors {
			assert.False(t, variants[in.Variant], "%s: variant %q twice", e.ID, in.Variant)
			variants[in.Variant] = true
			assert.True(t, in.Variant == "" || kebab.MatchString(in.Variant), "%s: variant %q", e.ID, in.Variant)
			assert.Equal(t, e.ID, e.RepairOf(in).ID(), "%s/%s: the repair's ID", e.ID, in.Variant)
			for _, cni := range CNIs {
				bed := fullBed
				bed.CNI = cni
				f, err := in.New(bed)
				require.NoError(t, err, "%s/%s on %s", e.ID, in.Variant, cni)
				assert.Equal(t, e.ID, f.Name(), "%s/%s: the fault's name", e.ID, in.Variant)
				applies := len(e.InjectorsFor(cni)) > 0 && !contains(in.NotOn, cni)
				if ok, _ := e.AppliesTo(cni); !ok {
					applies = false
				}
				assert.Equal(t, applies, f.AppliesTo(cni), "%s/%s on %s: the registry and the injector disagree", e.ID, in.Variant, cni)
				assert.True(t, in.NewPodFails || in.Breaks != nil && in.Breaks(bed) != nil, "%s/%s: what it breaks", e.ID, in.Variant)
			}
			for _, c := range in.Consequences {
				assert.Contains(t, problemIDs(), c, "%s/%s: consequence", e.ID, in.Variant)
			}
		}
	}
}

func contains(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func problemIDs() []string {
	var ids []string
	for _, p := range doctor.Problems() {
		ids = append(ids, p.ID())
	}
	return ids
}

// The doctor runs every registered fault's check, in the registry's order, and nothing else but
// traffic-path-broken, the symptom whose cause no check found.
func TestDoctorRunsTheRegistry(t *testing.T) {
	assert.Equal(t, append(IDs(), doctor.TrafficPathBroken{}.ID()), problemIDs())
}

// An injector that needs a test-bed fixture says so instead of building a half fault.
func TestInjectorsNeedingFixturesRefuseWithout(t *testing.T) {
	for _, e := range All() {
		for _, in := range e.Injectors {
			for _, cni := range CNIs {
				_, err := in.New(Bed{CNI: cni, Node: "n1", Other: "n2"})
				if in.Portable {
					assert.NoError(t, err, "%s/%s is portable", e.ID, in.Variant)
				}
			}
		}
	}
	_, err := MustLookup(CoreDNSForwardBroken).Injectors[0].New(Bed{})
	assert.ErrorContains(t, err, "dead upstream")
}

func TestLookup(t *testing.T) {
	_, err := Lookup("ip-forward-of")
	assert.ErrorContains(t, err, "ip-forward-off")
	assert.Empty(t, Missing(IDs()))
	assert.Equal(t, []string{IPForwardOff}, Missing(IDs()[1:]))
	// A selector the registry gives picks real cases.
	sel := MustLookup(IPForwardOff).Injectors[0].Breaks(fullBed)
	assert.True(t, sel(traffic.Case{Path: traffic.PodToPodCrossNode, From: traffic.Pod{Node: "kind-worker"}, To: "kind-worker2"}))
	assert.False(t, sel(traffic.Case{Path: traffic.PodToPodSameNode, From: traffic.Pod{Node: "kind-worker"}, To: "kind-worker"}))
}

// The README's fault table is the registry's (`go test ./registry -update` rewrites it).
func TestREADMEFaultTable(t *testing.T) {
	const path = "../README.md"
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	const begin, end = "<!-- fault table: generated from registry/, `go test ./registry -update` -->\n", "<!-- end of fault table -->"
	text := string(raw)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	require.True(t, i >= 0 && j > i, "README.md has no generated fault table between %q and %q", begin, end)
	want := text[:i+len(begin)] + Table() + text[j:]
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		return
	}
	assert.Equal(t, want, text, "the README's fault table differs from the registry: `go test ./registry -update`")
}
