package netfilter

import (
	"testing"

	"github.com/netcert/netcert/doctor/internal/netfilter/netfiltertest"
)

func BenchmarkParseIptablesSaveLarge(b *testing.B) {
	text := netfiltertest.IptablesSave()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseIptablesSave(XtNft, text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNftRulesetLarge(b *testing.B) {
	for _, bc := range []struct {
		name string
		text string
	}{
		{"set20k", netfiltertest.NftSet(20000)},
		{"map16kLines", netfiltertest.NftMap(16000)},
		{"rules50k", netfiltertest.NftRules()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseNft(bc.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
