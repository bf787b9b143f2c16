package doctor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func refsAndCauses(findings []Finding) []string {
	var out []string
	for _, f := range findings {
		s := string(f.Status) + " " + f.Ref()
		if f.CausedBy != "" {
			s += " <- " + f.CausedBy
		}
		out = append(out, s)
	}
	return out
}

func TestExplainMarksConsequencesOfANodeCause(t *testing.T) {
	in := []Finding{
		{Check: "traffic-path-broken", Node: "w1", Object: "w1/a -> w2/a udp", Status: Fail, Path: "pod-to-pod/cross-node", Crosses: []string{"w1", "w2"}},
		{Check: "coredns-forward-broken", Object: "forward 10.96.0.53", Status: Fail, Crosses: []string{"cp"}, Services: []string{"netcert-system/dns-upstream"}},
		{Check: "ip-forward-off", Node: "w2", Status: Fail},
		{Check: "ip-forward-off", Node: "cp", Status: Fail},
		{Check: "ip-forward-off", Node: "w1", Status: Pass},
		{Check: "traffic-path-broken", Node: "w3", Object: "w3/a -> w4/a udp", Status: Fail, Path: "pod-to-pod/cross-node", Crosses: []string{"w3", "w4"}},
	}
	out := Explain(in)
	assert.Equal(t, []string{
		"Fail ip-forward-off w2",
		"Fail ip-forward-off cp",
		"Fail traffic-path-broken w3 w3/a -> w4/a udp",
		"Fail traffic-path-broken w1 w1/a -> w2/a udp <- ip-forward-off w2",
		"Fail coredns-forward-broken forward 10.96.0.53 <- ip-forward-off cp",
		"Pass ip-forward-off w1",
	}, refsAndCauses(out), "causes first, then what nothing explains, then consequences")
	assert.Len(t, RootCauses(out), 3)
	assert.Empty(t, in[0].CausedBy, "the input is not changed")
}

func TestExplainMatchesServiceCausesOnlyToTheirServices(t *testing.T) {
	rules := Finding{Check: "kube-proxy-rules-missing", Node: "w1", Object: "service ns/web 80/tcp", Status: Fail, Services: []string{"ns/web"}}
	web := Finding{Check: "traffic-path-broken", Node: "w1", Object: "w1 -> web", Status: Fail, Crosses: []string{"w1", "w2"}, Services: []string{"ns/web"}}
	dns := Finding{Check: "coredns-forward-broken", Object: "forward", Status: Fail, Crosses: []string{"w1"}, Services: []string{"ns/dns"}}
	fwd := Finding{Check: "ip-forward-off", Node: "w1", Status: Fail}
	out := Explain([]Finding{web, dns, fwd, rules})
	assert.Equal(t, []string{
		"Fail ip-forward-off w1",
		"Fail kube-proxy-rules-missing w1 service ns/web 80/tcp",
		"Fail traffic-path-broken w1 w1 -> web <- kube-proxy-rules-missing w1 service ns/web 80/tcp",
		"Fail coredns-forward-broken forward <- ip-forward-off w1",
	}, refsAndCauses(out), "the Service's own rules explain its path before a node-wide cause does; they explain no other Service")

	out = Explain([]Finding{dns})
	assert.Equal(t, []string{"Fail coredns-forward-broken forward"}, refsAndCauses(out), "nothing explains it: a root cause of its own")
}

func TestExplainMatchesRangeCausesByEndpoints(t *testing.T) {
	pool := Finding{Check: "pod-cidr-overlap", Object: "pod network 172.18.255.0/26", Status: Fail, Ranges: []string{"172.18.255.0/26"}}
	external := Finding{Check: "traffic-path-broken", Object: "outside -> w1 nodeport", Status: Fail, Path: "external-to-nodeport",
		Crosses: []string{"w1"}, Endpoints: []string{"172.18.255.10", "172.18.0.3"}}
	other := Finding{Check: "traffic-path-broken", Object: "w1/a -> w2/a udp", Status: Fail, Path: "pod-to-pod/cross-node",
		Crosses: []string{"w1", "w2"}, Endpoints: []string{"10.244.1.2", "10.244.2.2"}}
	out := Explain([]Finding{external, other, pool})
	assert.Equal(t, []string{
		"Fail pod-cidr-overlap pod network 172.18.255.0/26",
		"Fail traffic-path-broken w1/a -> w2/a udp",
		"Fail traffic-path-broken outside -> w1 nodeport <- pod-cidr-overlap pod network 172.18.255.0/26",
	}, refsAndCauses(out), "the cross-node pair's endpoints lie outside the pool: not explained")

	fwd := Finding{Check: "ip-forward-off", Node: "w1", Status: Fail}
	out = Explain([]Finding{external, pool, fwd})
	assert.Equal(t, "Fail traffic-path-broken outside -> w1 nodeport <- ip-forward-off w1", refsAndCauses(out)[2], "a node-level cause on its path comes first")
}

func TestSlowestNamesTheLongestChecksFirst(t *testing.T) {
	results := []Result{{Check: "a", Took: time.Second}, {Check: "b", Took: 3 * time.Second}, {Check: "c", Took: 2 * time.Second}}
	assert.Equal(t, "b 3s, c 2s", Slowest(results, 2))
	assert.Equal(t, "b 3s, c 2s, a 1s", Slowest(results, 5))
}
