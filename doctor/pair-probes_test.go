package doctor

import "context"

// pairByPair answers a batch of pair probes with one, the fakes' answer to a single pair.
func pairByPair(ctx context.Context, pairs []NodePair, one func(ctx context.Context, from, to string) (bool, Evidence, error)) ([]PairResult, error) {
	out := make([]PairResult, len(pairs))
	for i, pr := range pairs {
		ok, ev, err := one(ctx, pr.From, pr.To)
		if err != nil {
			return nil, err
		}
		out[i] = PairResult{OK: ok, Evidence: ev}
	}
	return out, nil
}
