package doctor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shapes no injector of netcert's produces: no port named, a set match in a user chain, a
// chain's DROP policy, a native nft set of peers. The kernel's counters name them all the same.
func TestOverlayPortBlockedNamesAnyShapeTheCountersConfirm(t *testing.T) {
	accept := func(backend, chain, pos, peer string) []string {
		return []string{backend, "-w", "-t", "filter", "-I", chain, pos, "-s", peer + "/32", "-p", "udp", "-m", "udp",
			"--dport", "8472", "-m", "comment", "--comment", overlayRepairComment, "-j", "ACCEPT"}
	}
	for _, sc := range []struct {
		scenario, hot, named string
		argv                 [][]string
	}{
		{"peer-udp-drop", "-p udp -j DROP", "iptables-legacy filter INPUT #1 `-A INPUT -s 172.18.0.2/32 -p udp -j DROP` drops udp/8472",
			[][]string{accept("iptables-legacy", "INPUT", "1", "172.18.0.2"), accept("iptables-legacy", "INPUT", "1", "172.18.0.4")}},
		{"chain-set-drop", "--match-set quarantined-hosts", "iptables-legacy filter QUARANTINE #1 `-A QUARANTINE -m set --match-set quarantined-hosts src -j DROP` drops udp/8472",
			[][]string{accept("iptables-legacy", "QUARANTINE", "1", "172.18.0.2"), accept("iptables-legacy", "QUARANTINE", "1", "172.18.0.4")}},
		{"policy-drop", ":INPUT DROP", "iptables-legacy filter INPUT policy `policy DROP` drops udp/8472",
			[][]string{accept("iptables-legacy", "INPUT", "5", "172.18.0.2"), accept("iptables-legacy", "INPUT", "5", "172.18.0.4")}},
		{"nft-set-drop", "ip saddr @peers", "nft inet hostfw input handle 3",
			[][]string{{"nft", "insert", "rule", "inet", "hostfw", "input", "handle", "3", "ip", "saddr", "{ 172.18.0.2, 172.18.0.4 }",
				"udp", "dport", "8472", "accept", "comment", `"netcert-repair overlay-port-blocked"`}}},
	} {
		t.Run(sc.scenario, func(t *testing.T) {
			c, _, _ := overlayCluster(t, "flannel", sc.scenario, sc.hot)
			findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
			require.NoError(t, err)
			require.Equal(t, []string{"Fail kind-worker"}, statuses(findings))
			assert.True(t, strings.HasPrefix(findings[0].Summary, sc.named), findings[0].Summary)
			assert.Contains(t, findings[0].Summary, "counted 4 packets while the probes ran, 0 while idle")
			assert.NotContains(t, findings[0].Summary, "more rule(s)", "a shape that does not name the port is no suspect unless it counts")
			plan, err := OverlayPortBlocked{}.Plan(t.Context(), c, findings)
			require.NoError(t, err)
			require.Len(t, plan.Actions, 1, "the ACCEPTs before the first rule also pass the later ones")
			assert.Equal(t, sc.argv, plan.Actions[0].Argv)
		})
	}
}

// A rule of another shape whose counter moves as much with no probe as with them counts other
// traffic: it is not named, and an uncounted shape that names no port is no suspect either.
func TestOverlayPortBlockedIgnoresBackgroundDrops(t *testing.T) {
	c, w, prober := overlayCluster(t, "flannel", "peer-udp-drop")
	for _, peer := range []string{"kind-control-plane", "kind-worker2"} {
		prober.broken[peer+"→kind-worker"], prober.broken["kind-worker→"+peer] = true, true
	}
	w.hot = []string{"-p udp -j DROP"}
	w.Handle("iptables-legacy-save -c", func([]string) (string, int) {
		w.packets += 5 // background: every read sees more, probed or not
		return w.render(t, "legacy.save"), 0
	})
	w.scenario = "peer-udp-drop-repaired" // not blocking: the counters move only with the reads
	findings, err := OverlayPortBlocked{}.Run(t.Context(), c)
	require.NoError(t, err)
	for _, f := range findings {
		assert.NotEqual(t, Fail, f.Status, "%s", f)
	}
}
