package doctor

import (
	"testing"

	"github.com/netcert/netcert/doctor/internal/captures"
	"github.com/netcert/netcert/doctor/internal/netfilter"
)

// FuzzNetfilterViews: whatever either parser reads (doctor/internal/netfilter fuzzes them), the
// doctor's reading of the views runs over it: refs, digests, the overlay's candidate rules.
func FuzzNetfilterViews(f *testing.F) {
	captures.Seed(f, captures.Dirs, ".save", ".nft")
	f.Fuzz(func(t *testing.T, text string) {
		xt, xtErr := netfilter.ParseIptablesSave(netfilter.XtNft, text)
		nft, nftErr := netfilter.ParseNft(text)
		for _, v := range []struct {
			rs  *netfilter.Ruleset
			err error
		}{{xt, xtErr}, {nft, nftErr}} {
			if v.err != nil {
				continue
			}
			_ = digest(v.rs)
			views := &nodeViews{sets: []*netfilter.Ruleset{v.rs}}
			_ = blockingRules(views, 8472)
			_ = rulesByRef(views)
		}
	})
}
