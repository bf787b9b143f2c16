package probe

import (
	"context"
	"fmt"
	"time"
)

// Check is one bounded attempt of a probe, such as a closure around TCP.
type Check func(ctx context.Context) Result

// Repeat runs check up to attempts times, giving each attempt its own timeout
// and waiting pause between attempts. It returns the first successful Result,
// or the last failed one with the number of attempts noted in its error.
// Repeat stops early when ctx ends. An attempts value below 1 counts as 1 and
// a zero timeout leaves each attempt bounded by ctx alone.
func Repeat(ctx context.Context, attempts int, timeout, pause time.Duration, check Check) Result {
	if attempts < 1 {
		attempts = 1
	}
	var last Result
	for i := 1; i <= attempts; i++ {
		last = runOnce(ctx, timeout, check)
		if last.OK {
			return last
		}
		if i == attempts || !sleep(ctx, pause) {
			if i > 1 {
				last.Error = fmt.Sprintf("attempt %d of %d: %s", i, attempts, last.Error)
			}
			return last
		}
	}
	return last
}

// runOnce runs check with its own timeout derived from ctx.
func runOnce(ctx context.Context, timeout time.Duration, check Check) Result {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return check(ctx)
}

// sleep waits for d, returning false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
