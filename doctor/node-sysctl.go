package doctor

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/netcert/netcert/doctor/internal/sysctl"
	"github.com/netcert/netcert/node"
)

// nodeSysctl is a kernel setting every node must hold, live and persisted: the check and repair
// that ip-forward-off and bridge-nf-call-off share. A persisted wrong value (in /etc/sysctl.conf
// or a sysctl.d drop-in) fails too: it comes back at reboot.
type nodeSysctl struct {
	id     string
	key    string // dotted, e.g. net.ipv4.ip_forward
	want   string
	breaks string // what a wrong live value breaks, for the finding
	dropIn string // the drop-in the repair writes; it sorts after 99-sysctl.conf
	// absent, if set, says what it means that the key does not exist (its module is not
	// loaded); the node then fails with a manual repair. Unset: a missing key is an error.
	absent string
	// moduleLoad, if set, is the modules-load.d file the repair writes with the key's module,
	// so the key exists when systemd-sysctl applies the drop-in at boot.
	moduleLoad, module string
	// bypassed, if set, says whether the node has nothing the setting acts on (and why): the
	// finding is then NotApplicable.
	bypassed func(ctx context.Context, n node.Node) (bool, string, []Evidence, error)
}

func (s nodeSysctl) run(ctx context.Context, c *Cluster) ([]Finding, error) {
	return perNode(ctx, c, s.inspect)
}

func (s nodeSysctl) inspect(ctx context.Context, n node.Node) (Finding, error) {
	f := Finding{Check: s.id, Node: n.Name(), Status: Pass}
	if s.bypassed != nil {
		skip, why, ev, err := s.bypassed(ctx, n)
		if err != nil {
			return f, err
		}
		if skip {
			f.Status, f.Summary, f.Evidence = NotApplicable, why, ev
			return f, nil
		}
	}
	live, ev, err := run(ctx, n, "sysctl", "-n", s.key)
	f.Evidence = append(f.Evidence, ev)
	if err != nil {
		if code, ran := node.ExitCode(err); ran && code != 0 && s.absent != "" && strings.Contains(ev.Output, "No such file") {
			f.Status, f.Summary = Fail, fmt.Sprintf("%s does not exist: %s", s.key, s.absent)
			return f, nil
		}
		return f, err
	}
	list, ev, err := s.persisted(ctx, n)
	if err != nil {
		return f, err
	}
	persisted, hasPersisted := sysctl.Effective(list, s.key)
	if hasPersisted {
		f.Evidence = append(f.Evidence, ev)
	}
	var problems []string
	if live = strings.TrimSpace(live); live != s.want {
		problems = append(problems, fmt.Sprintf("%s is %s: %s", s.key, live, s.breaks))
	}
	if hasPersisted && persisted.Value != s.want {
		problems = append(problems, fmt.Sprintf("%s persists %s = %s, which comes back at reboot", persisted.File, s.key, persisted.Value))
	}
	if len(problems) == 0 {
		f.Summary = s.key + " is " + s.want
		return f, nil
	}
	f.Status, f.Summary = Fail, strings.Join(problems, "; ")
	return f, nil
}

// persisted reads the node's persisted assignments of the key.
func (s nodeSysctl) persisted(ctx context.Context, n node.Node) ([]sysctl.Assignment, Evidence, error) {
	out, ev, err := run(ctx, n, sysctl.PersistedGrep(path.Ext(s.key)[1:])...)
	if code, ran := node.ExitCode(err); err != nil && !(ran && code == 1) { // 1: no match
		return nil, ev, err
	}
	return sysctl.ParseGrep(out), ev, nil
}

// plan sets the value now and persists it in a drop-in that sorts after every other file, on
// each node with a Fail finding. Where a persisted wrong value would still win over that drop-in
// (a line in /etc/sysctl.conf, which is read last), or the key's module is not loaded, the node
// gets a manual step instead: netcert does not edit files it did not write, nor load modules.
func (s nodeSysctl) plan(ctx context.Context, c *Cluster, findings []Finding) (Plan, error) {
	plan := Plan{Check: s.id}
	for _, f := range findingsOf(findings, s.id, Fail) {
		n, err := c.nodeByName(f.Node)
		if err != nil {
			return plan, err
		}
		if s.absent != "" && strings.HasPrefix(f.Summary, s.key+" does not exist") {
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: load the kernel module %s (`modprobe %s`, and list it in /etc/modules-load.d so it loads at boot), then run netcert again",
				f.Node, s.module, s.module))
			continue
		}
		list, _, err := s.persisted(ctx, n)
		if err != nil {
			return plan, err
		}
		list = append(list, sysctl.Assignment{File: s.dropIn, Key: s.key, Value: s.want})
		if won, _ := sysctl.Effective(list, s.key); won.Value != s.want {
			plan.Manual = append(plan.Manual, fmt.Sprintf("%s: %s sets %s = %s and is read after every sysctl.d drop-in, so a drop-in cannot override it: "+
				"change that line to `%s = %s` (netcert does not edit files it did not write), then run `sysctl -w %s=%s`",
				f.Node, won.File, s.key, won.Value, s.key, s.want, s.key, s.want))
			continue
		}
		a := Action{
			Node:    f.Node,
			Summary: fmt.Sprintf("set %s=%s now and persist it in %s", s.key, s.want, s.dropIn),
			Argv: [][]string{
				{"sysctl", "-w", s.key + "=" + s.want},
				writeFile(s.dropIn, fmt.Sprintf("# Written by netcert (%s).\n%s = %s\n", s.id, s.key, s.want)),
			},
		}
		if s.moduleLoad != "" {
			a.Summary += fmt.Sprintf(", and load %s at boot (%s)", s.module, s.moduleLoad)
			a.Argv = append(a.Argv, writeFile(s.moduleLoad, fmt.Sprintf("# Written by netcert (%s).\n%s\n", s.id, s.module)))
		}
		plan.Actions = append(plan.Actions, a)
	}
	return plan, nil
}

// writeFile is the command that writes content to file (content holds no single quote).
func writeFile(file, content string) []string {
	return []string{"sh", "-c", fmt.Sprintf("printf '%%s' '%s' > %s", content, file)}
}

// apply runs each action's commands, then re-reads the node to verify.
func (s nodeSysctl) apply(ctx context.Context, c *Cluster, plan Plan) (Record, error) {
	return applyNodeCommands(ctx, c, plan, s.inspect)
}
