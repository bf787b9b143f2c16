package traffic

import (
	"context"
	"fmt"
	"sync"
)

// Sender sends one case's traffic: in its pod's container, or from outside the cluster. An error
// means the probe could not be sent (no pod, exec refused), never that the traffic failed.
type Sender interface {
	Send(ctx context.Context, c Case) (Result, error)
}

// BatchSender also sends several cases of one sender (one pod's container, or the outside host)
// at once, as one process: one exec per sender instead of one per case. Results are in the
// cases' order.
type BatchSender interface {
	Sender
	SendBatch(ctx context.Context, cases []Case) ([]Result, error)
}

// Workers is how many cases (or probes, or a BatchSender's batches) run at once: a failing case
// waits for its probe's timeout, so a fault that breaks many paths costs a sweep (failing cases ÷
// Workers) × timeout when sent one by one.
const Workers = 24

// MaxBatch is the most cases one batch carries.
const MaxBatch = 64

// Run sends every case, a few at a time, and returns their results in the cases' order: one
// batch per sender when s is a BatchSender, else one case at a time. It fails when any case
// could not be sent: a matrix with holes must not pass.
func Run(ctx context.Context, s Sender, cases []Case) ([]Result, error) {
	results := make([]Result, len(cases))
	errs := make([]error, len(cases))
	slots := make(chan struct{}, Workers)
	var wg sync.WaitGroup
	for _, batch := range batches(s, cases) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if len(batch) == 1 {
				results[batch[0]], errs[batch[0]] = s.Send(ctx, cases[batch[0]])
				return
			}
			group := make([]Case, len(batch))
			for j, i := range batch {
				group[j] = cases[i]
			}
			got, err := s.(BatchSender).SendBatch(ctx, group)
			for j, i := range batch {
				errs[i] = err
				if err == nil {
					results[i] = got[j]
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return results, fmt.Errorf("%s %s: %w", cases[i].Path, cases[i].Name, err)
		}
	}
	return results, nil
}

// batches groups the cases' indexes by sender, in order, at most MaxBatch a group; one case a
// group when s cannot batch.
func batches(s Sender, cases []Case) [][]int {
	if _, ok := s.(BatchSender); !ok {
		out := make([][]int, len(cases))
		for i := range cases {
			out[i] = []int{i}
		}
		return out
	}
	var out [][]int
	open := map[string]int{} // sender -> its group being filled
	for i, c := range cases {
		key := c.sender()
		g, ok := open[key]
		if !ok || len(out[g]) == MaxBatch {
			g = len(out)
			out = append(out, nil)
			open[key] = g
		}
		out[g] = append(out[g], i)
	}
	return out
}

// sender names who sends c: the outside host, or a pod's container.
func (c Case) sender() string {
	if c.External {
		return "external"
	}
	return c.From.Namespace + "/" + c.From.Name + "/" + c.Container
}
