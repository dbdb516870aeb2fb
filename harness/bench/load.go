package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// call is one request as the client saw it.
type call struct {
	sent     time.Time
	answered time.Time
	err      error
}

func (c call) latency() time.Duration { return c.answered.Sub(c.sent) }

// drive runs do(i) for every i in [0, n) with at most concurrency calls in
// flight, the way a busy Genesys org or a bulk starter would, and returns
// what each call saw. It stops handing out work when ctx ends.
func drive(ctx context.Context, n, concurrency int, do func(ctx context.Context, i int) error) []call {
	calls := make([]call, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					calls[i] = call{err: err}
					continue
				}
				sent := time.Now()
				err := do(ctx, i)
				calls[i] = call{sent: sent, answered: time.Now(), err: err}
			}
		}()
	}
	wg.Wait()
	return calls
}

// failures returns nil when every call succeeded, or how many failed and
// the first few errors.
func failures(calls []call) error {
	var errs []error
	failed := 0
	for i, c := range calls {
		if c.err != nil {
			failed++
			if len(errs) < 3 {
				errs = append(errs, fmt.Errorf("call %d: %w", i, c.err))
			}
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d calls failed: %w", failed, len(calls), errors.Join(errs...))
}

// span is the first send and the last answer.
func span(calls []call) (first, last time.Time) {
	for _, c := range calls {
		if first.IsZero() || c.sent.Before(first) {
			first = c.sent
		}
		if c.answered.After(last) {
			last = c.answered
		}
	}
	return first, last
}

func latencies(calls []call) []time.Duration {
	out := make([]time.Duration, len(calls))
	for i, c := range calls {
		out[i] = c.latency()
	}
	return out
}
