package traffic

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oneByOne sends a case at a time: OK unless its name says "fail".
type oneByOne struct{}

func (oneByOne) Send(_ context.Context, c Case) (Result, error) {
	return Result{OK: c.Name != "fail", Source: c.Name}, nil
}

// batching records the batches it is given.
type batching struct {
	oneByOne
	mu      sync.Mutex
	batches [][]string
	err     error
}

func (b *batching) SendBatch(_ context.Context, cases []Case) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	results := make([]Result, len(cases))
	for i, c := range cases {
		names = append(names, c.Name)
		results[i], _ = b.Send(context.Background(), c)
	}
	b.batches = append(b.batches, names)
	return results, b.err
}

func casesFrom(pods ...string) []Case {
	var cases []Case
	for i, pod := range pods {
		c := Case{Name: fmt.Sprint(i), From: Pod{Namespace: "ns", Name: pod}, Container: "probe"}
		if pod == "" {
			c = Case{Name: fmt.Sprint(i), External: true}
		}
		cases = append(cases, c)
	}
	cases[1].Name = "fail"
	return cases
}

func TestRunSendsOneBatchPerSenderAndKeepsTheCasesOrder(t *testing.T) {
	s := &batching{}
	cases := casesFrom("a", "b", "a", "", "b", "")
	results, err := Run(context.Background(), s, cases)
	require.NoError(t, err)
	assert.ElementsMatch(t, [][]string{{"0", "2"}, {"fail", "4"}, {"3", "5"}}, s.batches, "pod a, pod b, the outside host")
	for i, r := range results {
		assert.Equal(t, cases[i].Name, r.Source, "result %d is its case's", i)
		assert.Equal(t, cases[i].Name != "fail", r.OK)
	}
}

func TestRunSplitsBatchesAtMaxBatchAndSendsSingletonsOneByOne(t *testing.T) {
	s := &batching{}
	pods := make([]string, MaxBatch+2)
	for i := range pods {
		pods[i] = "a"
	}
	pods[MaxBatch+1] = "lonely"
	_, err := Run(context.Background(), s, casesFrom(pods...))
	require.NoError(t, err)
	require.Len(t, s.batches, 1, "64 cases batched, the 65th and the lonely one's alone")
	assert.Len(t, s.batches[0], MaxBatch)
}

func TestRunFailsEveryCaseOfABatchThatCouldNotBeSent(t *testing.T) {
	s := &batching{err: errors.New("exec refused")}
	_, err := Run(context.Background(), s, casesFrom("a", "a"))
	require.ErrorContains(t, err, "exec refused")
}

func TestRunWithoutBatchingSendsEachCase(t *testing.T) {
	results, err := Run(context.Background(), oneByOne{}, casesFrom("a", "a", "a"))
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, true}, []bool{results[0].OK, results[1].OK, results[2].OK})
}
