package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatWhileRunning heartbeats, every quarter of the activity's
// heartbeat timeout, until the returned stop is called; stop returns once
// no heartbeat can be sent any more, so a caller may then record its own
// details without a race.
//
// Why: the Temporal server (1.29, temporalio/temporal#11733) can record an
// activity attempt as started and then fail to hand it to the worker when
// the history write outlasts matching's one-second deadline. Nothing
// retries that task but a timeout; without a heartbeat timeout that is the
// whole start-to-close (65s for a gateway call), with one it is the
// heartbeat timeout. A call that finishes within a quarter of the timeout
// sends no heartbeat at all.
//
// details, if any, are what a heartbeat carries: the next attempt reads the
// last ones when this attempt is cut off mid-way.
func heartbeatWhileRunning(ctx context.Context, details ...any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	every := activity.GetInfo(ctx).HeartbeatTimeout / 4
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				activity.RecordHeartbeat(ctx, details...)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
