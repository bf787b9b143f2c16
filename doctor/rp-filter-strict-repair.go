package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netcert/netcert/doctor/internal/iproute"
	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/node"
)

// rpFilterDropIn is where the repair persists loose values; it sorts after 99-sysctl.conf.
const rpFilterDropIn = "/etc/sysctl.d/99-zz-netcert-rp-filter.conf"

// rpFix is what the repair changes on one node.
type rpFix struct {
	set     []string // the interfaces given rp_filter=2 now ("all" first when it is 1)
	persist []string // the drop-in's interfaces: those already in it, and those set
	manual  []string
}

// fix plans loose validation for the interfaces whose strict validation refuses a flow, and for
// all when it is 1 (an interface validates with the larger of all and its own value, so all=1
// makes every interface strict, those that come later too). Loose validation takes a source that
// any route leads back to; the kernel applies it strictly on an interface without an IPv4
// address (a routed pod's veth), which only a person can settle. The interfaces set hold an
// address, so they are uplinks, bridges and overlays, whose names come back: all are persisted.
func (rn *rpNode) fix() rpFix {
	var fx rpFix
	seen := map[string]bool{}
	for _, rf := range rn.refusals() {
		switch {
		case !rf.strict || seen[rf.Iif]:
			continue
		case !rn.hasIPv4(rf.Iif):
			pod := ""
			if slices.ContainsFunc(rn.path.links.podVeths(), func(v iproute.Link) bool { return v.Name == rf.Iif }) {
				pod = " (a pod's veth: it comes and goes with its pod, so no persisted value outlives it; the CNI's route to the pod is what must lead back through it)"
			}
			fx.manual = append(fx.manual, fmt.Sprintf("%s: %s holds no IPv4 address, and the kernel validates the source of such an interface strictly in loose mode too%s: "+
				"route %s back through %s, or turn validation off there (`sysctl -w %s=0`, and %s=0 while all is above 0)",
				rn.name, rf.Iif, pod, rf.Src, rf.Iif, sysctl.ConfPath(rf.Iif, rpFilter), sysctl.ConfPath("all", rpFilter)))
		default:
			fx.set = append(fx.set, rf.Iif)
		}
		seen[rf.Iif] = true
	}
	if len(fx.set) == 0 {
		return fx
	}
	if rn.values["all"] == 1 {
		fx.set = append([]string{"all"}, fx.set...)
	}
	for _, a := range rn.persisted {
		if iface, ok := rpDropInIface(a); ok && !slices.Contains(fx.persist, iface) {
			fx.persist = append(fx.persist, iface)
		}
	}
	for _, iface := range fx.set {
		if !slices.Contains(fx.persist, iface) {
			fx.persist = append(fx.persist, iface)
		}
	}
	fx.manual = append(fx.manual, rn.bootStrict(fx.persist)...)
	return fx
}

// rpDropInIface is the interface of an assignment of the repair's own drop-in.
func rpDropInIface(a sysctl.Assignment) (string, bool) {
	iface, ok := strings.CutPrefix(a.Key, "net.ipv4.conf.")
	iface, ok2 := strings.CutSuffix(iface, "."+rpFilter)
	return iface, ok && ok2 && a.File == rpFilterDropIn && iface != ""
}

// dropIn is the drop-in's content: each interface's loose value, all first.
func (fx rpFix) dropIn() string {
	b := strings.Builder{}
	b.WriteString("# Written by netcert (rp-filter-strict): loose reverse-path filtering where strict filtering dropped what the CNI needs.\n")
	for _, iface := range fx.persist {
		fmt.Fprintf(&b, "%s = 2\n", sysctl.ConfPath(iface, rpFilter))
	}
	return b.String()
}

// bootStrict returns the manual steps for interfaces that would still validate strictly after a
// reboot with the drop-in: a file read after it (/etc/sysctl.conf) sets them 1, and all is not
// above 1 then.
func (rn *rpNode) bootStrict(persist []string) []string {
	list := slices.DeleteFunc(slices.Clone(rn.persisted), func(a sysctl.Assignment) bool { return a.File == rpFilterDropIn })
	for _, iface := range persist {
		list = append(list, sysctl.Assignment{File: rpFilterDropIn, Key: sysctl.ConfKey(iface, rpFilter), Value: "2"})
	}
	boot := func(iface string) (sysctl.Assignment, int) {
		a, _ := sysctl.Effective(list, sysctl.ConfKey(iface, rpFilter))
		v, _ := strconv.Atoi(a.Value)
		return a, v
	}
	_, all := boot("all")
	var manual []string
	for _, iface := range persist {
		if a, v := boot(iface); iface != "all" && max(all, v) == 1 {
			manual = append(manual, fmt.Sprintf("%s: %s sets %s = %s and is read after %s, so the drop-in cannot override it: change that line to `%s = 2` "+
				"(netcert does not edit files it did not write), then run netcert again", rn.name, a.File, a.Key, a.Value, rpFilterDropIn, a.Key))
		}
	}
	return manual
}

// Plan gives every interface whose strict validation refuses a flow loose validation, now and
// persisted, one action per node; see rpNode.fix.
func (p RPFilterStrict) Plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: p.ID()}
	failed := findingsOf(findings, p.ID(), Fail)
	if len(failed) == 0 {
		return plan, nil
	}
	r, err := readRPRanges(ctx, c)
	if err != nil {
		return plan, err
	}
	for _, f := range failed {
		n, err := c.nodeByName(f.Node)
		if err != nil {
			return plan, err
		}
		rn, _, err := p.inspect(ctx, c, r, n)
		if err != nil {
			return plan, err
		}
		fx := rn.fix()
		if len(fx.manual) > 0 {
			plan.Manual = append(plan.Manual, fx.manual...)
			continue
		}
		if len(fx.set) == 0 {
			continue
		}
		a := Action{Node: f.Node, Argv: [][]string{{"sysctl", "-w"}}}
		for _, iface := range fx.set {
			a.Argv[0] = append(a.Argv[0], sysctl.ConfPath(iface, rpFilter)+"=2")
		}
		a.Summary = "set rp_filter=2 (loose: a source is valid when any route leads back to it) on " + strings.Join(fx.set, ", ")
		if fx.set[0] == "all" {
			a.Summary += " (all was 1: an interface validates with the larger of all and its own value, so all=1 makes every interface strict)"
		}
		a.Argv = append(a.Argv, writeFile(rpFilterDropIn, fx.dropIn()))
		a.Summary += fmt.Sprintf(", and persist it in %s (%s; systemd-sysctl applies an interface's line when the interface appears); then the kernel is asked again about every flow",
			rpFilterDropIn, strings.Join(fx.persist, ", "))
		plan.Actions = append(plan.Actions, a)
	}
	return plan, nil
}

// Apply sets the values and writes the drop-in where the node still fails, then asks the
// kernel again about the same flows.
func (p RPFilterStrict) Apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	if err := refuseManual(plan); err != nil || len(plan.Actions) == 0 {
		return Record{Check: plan.Check}, err
	}
	r, err := readRPRanges(ctx, c)
	if err != nil {
		return Record{Check: plan.Check}, err
	}
	return applyNodeCommands(ctx, c, plan, func(ctx context.Context, n node.Node) (Finding, error) {
		_, f, err := p.inspect(ctx, c, r, n)
		return f, err
	})
}
