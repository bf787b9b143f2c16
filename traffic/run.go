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

// Workers is how many cases (or probes) run at once: a failing case waits for its probe's
// timeout, so a fault that breaks many paths costs a sweep (failing cases ÷ Workers) × timeout.
const Workers = 24

// Run sends every case, a few at a time, and returns their results in the cases' order. It
// fails when any case could not be sent: a matrix with holes must not pass.
func Run(ctx context.Context, s Sender, cases []Case) ([]Result, error) {
	results := make([]Result, len(cases))
	errs := make([]error, len(cases))
	slots := make(chan struct{}, Workers)
	var wg sync.WaitGroup
	for i, c := range cases {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			results[i], errs[i] = s.Send(ctx, c)
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
