package doctor

import (
	"context"
	"fmt"

	"github.com/netcert/netcert/node"
)

// nodeByName finds a node of the cluster.
func (c *Cluster) nodeByName(name string) (node.Node, error) {
	for _, n := range c.Nodes {
		if n.Name() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("node %q is not in the cluster", name)
}

// refuseManual is the one front door that refuses a plan with steps for a person: such a plan is
// never applied automatically.
func refuseManual(plan Plan) error {
	if len(plan.Manual) > 0 {
		return fmt.Errorf("%s: the plan needs manual steps and is not applied automatically", plan.Check)
	}
	return nil
}

// applyNodeCommands applies a plan whose actions are node commands: for each action it inspects
// the node, runs the commands only if the node still fails, and inspects it again to verify.
func applyNodeCommands(ctx context.Context, c *Cluster, plan Plan, inspect func(context.Context, node.Node) (Finding, error)) (Record, error) {
	rec := Record{Check: plan.Check}
	if err := refuseManual(plan); err != nil {
		return rec, err
	}
	for _, a := range plan.Actions {
		n, err := c.nodeByName(a.Node)
		if err != nil {
			return rec, err
		}
		step := Step{Action: a}
		before, err := inspect(ctx, n)
		if err != nil {
			return rec, err
		}
		if before.Status != Pass {
			step.Changed = true
			for _, argv := range a.Argv {
				_, ev, err := run(ctx, n, argv...)
				step.Evidence = append(step.Evidence, ev)
				if err != nil {
					rec.Steps = append(rec.Steps, step)
					return rec, fmt.Errorf("%s on %s: %w", plan.Check, a.Node, err)
				}
			}
		}
		after, err := inspect(ctx, n)
		if err != nil {
			return rec, err
		}
		step.Evidence = append(step.Evidence, after.Evidence...)
		rec.Steps = append(rec.Steps, step)
		if after.Status != Pass {
			return rec, fmt.Errorf("%s on %s: still %s after the repair: %s", plan.Check, a.Node, after.Status, after.Summary)
		}
		c.log().Info("repaired", "check", plan.Check, "node", a.Node, "changed", step.Changed)
	}
	return rec, nil
}
