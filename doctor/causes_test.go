package doctor

import (
	"testing"

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
