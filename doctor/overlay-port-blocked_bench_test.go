package doctor

import (
	"testing"

	"github.com/netcert/netcert/doctor/internal/netfilter"
	"github.com/netcert/netcert/doctor/internal/netfilter/netfiltertest"
)

// BenchmarkBlockingRulesLarge times overlay-port-blocked's candidate selection over both large
// rulesets.
func BenchmarkBlockingRulesLarge(b *testing.B) {
	xt, err := netfilter.ParseIptablesSave(netfilter.XtNft, netfiltertest.IptablesSave())
	if err != nil {
		b.Fatal(err)
	}
	nft, err := netfilter.ParseNft(netfiltertest.NftRules())
	if err != nil {
		b.Fatal(err)
	}
	v := &nodeViews{sets: []*netfilter.Ruleset{xt, nft}}
	b.ReportAllocs()
	for b.Loop() {
		if len(blockingRules(v, 8472)) == 0 {
			b.Fatal("no candidate")
		}
	}
}
