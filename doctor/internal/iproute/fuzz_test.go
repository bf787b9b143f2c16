package iproute

import (
	"reflect"
	"testing"

	"github.com/netcert/netcert/doctor/internal/captures"
)

// The parsers of iproute2's output are total: no input panics, every item they give is valid,
// and parsing again gives the same.

// ipSeeds are hand-written `ip -j` outputs: both families, unknown keys, odd types.
var ipSeeds = []string{
	`[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"},{},{"family":"inet6","local":"::1","prefixlen":128,"scope":"host","valid_life_time":4294967295}]}]`,
	`[{"ifname":5,"addr_info":[{"family":"inet6","local":"fe80::1%eth0","prefixlen":"64","scope":253,"new_key":{"x":[1]}}]}]`,
	`[{"dst":"default","gateway":"fd00::1","dev":"eth0","protocol":"static","metric":1024,"flags":[],"pref":"medium"},
	  {"type":"unreachable","dst":"default","dev":"lo","table":"local","protocol":"kernel","metric":4294967295},
	  {"dst":"10.244.1.0/24","protocol":80,"table":254,"scope":null,"flags":[],"nexthops":[{"gateway":"10.0.0.1","dev":"eth1","weight":1},{"gateway":"10.0.1.1","dev":"eth2"}]},
	  {"dst":"10.0.0.0/8","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","metric":"7","extra":true}]`,
	`[{"dst":"10.244.1.0/33"}]`,
	`[{"dst":"10.0.0.0/8","metric":-1}]`,
	"[\n{\"dst\": 10.0.0.1}\n]",
	`{}`,
	``,
}

func FuzzParseIPAddr(f *testing.F) {
	fuzzIPParser(f, "addr.json", ParseAddr, func(a Addr) bool {
		_ = a.String()
		return a.Prefix.IsValid() && a.Network().IsValid()
	})
}

func FuzzParseIPRoute(f *testing.F) {
	fuzzIPParser(f, "route.json", ParseRoute, func(r Route) bool {
		_, _, _ = r.String(), r.Devs(), r.Default()
		return r.Dst.IsValid() && r.Type != "" && r.Table != "" && r.Protocol != ""
	})
}

func FuzzParseLink(f *testing.F) {
	fuzzIPParser(f, "link.json", ParseLink, func(l Link) bool {
		return l.MTU >= 0 && (l.Hairpin == nil || l.SlaveKind == "bridge")
	})
}

// fuzzIPParser seeds f with the captures named *suffix and ipSeeds, and checks that parse gives
// only valid items, and the same on a second parse.
func fuzzIPParser[T any](f *testing.F, suffix string, parse func([]byte) ([]T, error), valid func(T) bool) {
	captures.Seed(f, captures.Dirs, suffix)
	for _, s := range ipSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		items, err := parse([]byte(text))
		if err != nil {
			return
		}
		for _, x := range items {
			if !valid(x) {
				t.Fatalf("invalid: %+v", x)
			}
		}
		if again, _ := parse([]byte(text)); !reflect.DeepEqual(items, again) {
			t.Fatal("a second parse differs")
		}
	})
}
