package iproute

import (
	"net/netip"
	"testing"
)

// FuzzParseIPRule: any input parses or errors, never panics; every prefix read is valid or
// absent, and reading again gives the same rules.
func FuzzParseIPRule(f *testing.F) {
	for _, seed := range []string{
		defaultIPRulesSeed,
		`[{"priority":100,"src":"10.244.1.0","srclen":26,"table":"7"}]`,
		`[{"priority":100,"src":"all","dst":"fd00::","dstlen":8,"fwmark":"0x1/0xff","table":"main","l3mdev":null}]`,
		`[{"priority":5,"src":"10.0.0.1","srclen":99,"table":1}]`,
		`[{"priority":-1,"src":{"x":1},"dst":[],"table":false}]`,
		`[]`, ``, `null`, `[1,2]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		rules, err := ParseRule(out)
		if err != nil {
			return
		}
		for _, r := range rules {
			for _, p := range []netip.Prefix{r.From, r.To} {
				if p.IsValid() && p.Bits() < 0 {
					t.Fatalf("invalid prefix %v in %q", p, out)
				}
			}
		}
		again, _ := ParseRule(out)
		if len(again) != len(rules) {
			t.Fatalf("two reads differ: %d and %d rules", len(rules), len(again))
		}
	})
}

const defaultIPRulesSeed = `[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]`
