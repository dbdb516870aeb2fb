package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/remediation"
)

// reviewQueue is the review queue as the last poll saw it. The gauges read
// it at each scrape: a scrape costs no visibility query, however many
// reviews wait and however often Prometheus asks.
type reviewQueue struct {
	waiting atomic.Int64
	// oldestStart is the start of the oldest waiting run, in Unix
	// nanoseconds; 0 when none waits.
	oldestStart atomic.Int64
}

func (q *reviewQueue) set(waiting int64, oldest time.Time) {
	var start int64
	if waiting > 0 && !oldest.IsZero() {
		start = oldest.UnixNano()
	}
	q.waiting.Store(waiting)
	q.oldestStart.Store(start)
}

func (q *reviewQueue) oldestAge(now time.Time) time.Duration {
	start := q.oldestStart.Load()
	if start == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, start)), 0)
}

// visibility is the part of the Temporal client the review poll uses.
type visibility interface {
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// Bounds of the review poll: one page holds the whole queue in the usual
// case; past it the oldest is found by halving a time window with counts,
// to within oldestResolution, over at most oldestHorizon.
const (
	reviewPageSize   = 1000
	oldestResolution = time.Minute
	oldestHorizon    = 400 * 24 * time.Hour
)

// pollReviewQueue measures the review queue every interval until ctx ends.
func (s *server) pollReviewQueue(ctx context.Context, interval time.Duration) {
	for {
		pollCtx, cancel := context.WithTimeout(ctx, min(interval, 30*time.Second))
		waiting, oldest, err := measureReviewQueue(pollCtx, s.temporal, s.namespace, s.taskQueue, reviewPageSize)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			s.metrics.pollFailures.Add(ctx, 1)
			s.logger.Warn("review queue poll failed; the review gauges keep their last values", "error", err)
		case err == nil:
			s.metrics.reviews.set(waiting, oldest)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// reviewQuery selects the running remediations awaiting review. Running
// matters: a run terminated by hand keeps its last RemediationState.
func reviewQuery(taskQueue string) string {
	return remediationsQuery(taskQueue, remediation.StateAwaitingReview) + " AND ExecutionStatus = 'Running'"
}

// measureReviewQueue counts the remediations awaiting review and finds the
// start of the oldest: one count and one page, or, when more wait than a
// page holds, a count per halving of the window (visibility on SQL cannot
// order by start time, and a list is newest first).
func measureReviewQueue(ctx context.Context, v visibility, namespace, taskQueue string, pageSize int64) (int64, time.Time, error) {
	query := reviewQuery(taskQueue)
	counted, err := v.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count reviews: %w", err)
	}
	waiting := counted.GetCount()
	if waiting == 0 {
		return 0, time.Time{}, nil
	}
	page, err := v.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, Query: query, PageSize: int32(min(waiting, pageSize)),
	})
	if err != nil {
		return waiting, time.Time{}, fmt.Errorf("list reviews: %w", err)
	}
	var oldest time.Time
	for _, ex := range page.GetExecutions() {
		if t := ex.GetStartTime().AsTime(); oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if len(page.GetNextPageToken()) == 0 || oldest.IsZero() {
		return waiting, oldest, nil
	}
	oldest, err = bisectOldestStart(ctx, v, namespace, query, oldest)
	return waiting, oldest, err
}

// bisectOldestStart narrows [hi-oldestHorizon, hi] to the earliest start
// time with a count per step: about 20 counts for a year at a minute.
// hi is a start time known to be in the queue.
func bisectOldestStart(ctx context.Context, v visibility, namespace, query string, hi time.Time) (time.Time, error) {
	startedBefore := func(t time.Time) (bool, error) {
		r, err := v.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: namespace, Query: query + " AND StartTime < '" + t.UTC().Format(time.RFC3339Nano) + "'",
		})
		if err != nil {
			return false, fmt.Errorf("count reviews started before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		return r.GetCount() > 0, nil
	}
	lo := hi.Add(-oldestHorizon)
	if older, err := startedBefore(lo); err != nil || older {
		// Older than the horizon: report the horizon, which pages anyway.
		return lo, err
	}
	for hi.Sub(lo) > oldestResolution {
		mid := lo.Add(hi.Sub(lo) / 2)
		older, err := startedBefore(mid)
		if err != nil {
			return time.Time{}, err
		}
		if older {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}
