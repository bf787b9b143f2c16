package netfilter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnconditionalAndMarkMatches(t *testing.T) {
	xt, err := ParseIptablesSave(XtNft, `*filter
:FORWARD DROP [0:0]
:X - [0:0]
[0:0] -A FORWARD -m comment --comment "a -s in a comment" -j X
[0:0] -A FORWARD -m conntrack --ctstate INVALID -j DROP
[0:0] -A FORWARD -o cali+ -m comment --comment "cali:x" -j X
[0:0] -A FORWARD -m comment --comment "cali:y" -m mark --mark 0x10000/0x10000 -j ACCEPT
[0:0] -A FORWARD -j MARK --set-xmark 0x10000/0x10000
[0:0] -A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
`)
	require.NoError(t, err)
	nft, err := ParseNft(`table inet fw { # handle 1
	chain forward { # handle 1
		type filter hook forward priority filter; policy drop;
		ct state established,related accept # handle 2
		oifname != "cali*" jump x # handle 3
		meta mark & 0x00010000 == 0x00010000 accept # handle 4
		meta mark set 0x00000001 # handle 5
		log prefix "fwd: " level info counter packets 3 bytes 180 reject with icmpx admin-prohibited # handle 6
		counter packets 0 bytes 0 drop comment "the end" # handle 7
	}
	chain x { # handle 8
	}
}
`)
	require.NoError(t, err)
	for _, tc := range []struct {
		rules        []*Rule
		uncond, mark []bool
	}{
		{xt.Chain("ip", "filter", "FORWARD").Rules, []bool{true, false, false, false, true, true}, []bool{false, false, false, true, false, false}},
		{nft.Chain("inet", "fw", "forward").Rules, []bool{false, false, false, false, true, true}, []bool{false, false, true, false, false, false}},
	} {
		for i, r := range tc.rules {
			assert.Equal(t, tc.uncond[i], r.Unconditional(), "unconditional: %s", r.Text)
			assert.Equal(t, tc.mark[i], r.MatchesMark(), "mark: %s", r.Text)
		}
	}
	out := xt.Chain("ip", "filter", "FORWARD").Rules[2]
	assert.Equal(t, "cali+", out.OutIface)
	o := nft.Chain("inet", "fw", "forward").Rules[1]
	assert.Equal(t, "cali*", o.OutIface)
	assert.True(t, o.OutNeg)
	assert.Equal(t, "x", o.Target, "the verdict after the interface match is read")
}
