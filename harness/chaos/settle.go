package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// rest is where the workflows stand once nothing moves by itself any more.
type rest struct {
	// Reviews are the running workflows awaiting a decision, finance ops told.
	Reviews []string
	// Settled is false when the timeout came first; Busy then says who was
	// still moving (the checks report them).
	Settled bool
	Busy    []string
	Took    time.Duration
}

// settle waits until every workflow is at rest: closed, or awaiting review
// with finance ops told (a workitem exists) and every decision the finance
// API accepted for it recorded. want is how many workflows there must be,
// so a start that visibility has not shown yet is waited for; decided maps
// a workflow ID to the decisionIds sent to it.
//
// The decisions matter: a signal the workflow has not taken yet leaves it
// looking at rest (AwaitingReview, escalated) while it is about to move.
func (w *world) settle(ctx context.Context, what string, want int, decided map[string][]string, timeout time.Duration, progress io.Writer) (rest, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	told := map[string]bool{}
	lastReport := time.Time{}
	quiet := false
	for {
		running, err := w.listExecutions(ctx, "ExecutionStatus = 'Running'")
		if err != nil {
			// The server may be restarting; keep trying until the deadline.
			if time.Now().After(deadline) {
				return rest{}, err
			}
			time.Sleep(time.Second)
			continue
		}
		var busy, untold, reviews []string
		for _, e := range running {
			switch {
			case e.State != string(remediation.StateAwaitingReview):
				busy = append(busy, e.WorkflowID)
			case told[e.WorkflowID]:
				reviews = append(reviews, e.WorkflowID)
			default:
				untold = append(untold, e.WorkflowID)
			}
		}
		if len(busy) == 0 && len(untold) > 0 {
			statuses, _ := w.queryAll(ctx, untold)
			untold = untold[:0]
			for id, st := range statuses {
				if st.State == remediation.StateAwaitingReview && st.Escalation != "" && recorded(st, decided[id]) {
					told[id] = true
					reviews = append(reviews, id)
				}
			}
			for _, e := range running {
				if e.State == string(remediation.StateAwaitingReview) && !told[e.WorkflowID] {
					untold = append(untold, e.WorkflowID)
				}
			}
		}
		total := -1
		if len(busy) == 0 && len(untold) == 0 {
			all, err := w.listExecutions(ctx, "")
			if err == nil {
				total = len(all)
			}
			if total >= want {
				// A refund the gateway has yet to settle or reverse, or a
				// webhook still to go, moves a workflow later: a closed
				// one is reopened by its reversal.
				// Quiet twice in a row: a webhook delivered just before
				// the first look has had its run listed by the second.
				pending, err := w.gatewayPending(ctx)
				if err == nil && pending == 0 && !quiet {
					quiet = true
					time.Sleep(time.Second)
					continue
				}
				if err != nil || pending > 0 {
					quiet = false
					if time.Now().After(deadline) {
						fmt.Fprintf(progress, "  %s: NOT at rest after %s: the gateway still has %d changes or webhooks to come (%v)\n", what, timeout, pending, err)
						return rest{Reviews: reviews, Busy: []string{"gateway"}, Took: time.Since(start)}, nil
					}
					if time.Since(lastReport) > 5*time.Second {
						fmt.Fprintf(progress, "  %s: workflows at rest, the gateway has %d changes or webhooks to come\n", what, pending)
						lastReport = time.Now()
					}
					select {
					case <-ctx.Done():
						return rest{}, ctx.Err()
					case <-time.After(time.Second):
					}
					continue
				}
				sort.Strings(reviews)
				r := rest{Reviews: reviews, Settled: true, Took: time.Since(start)}
				fmt.Fprintf(progress, "  %s: at rest after %s: %d workflows, %d awaiting review\n", what, r.Took.Round(time.Second), total, len(reviews))
				return r, nil
			}
		}
		if time.Since(lastReport) > 5*time.Second {
			fmt.Fprintf(progress, "  %s: %d running (%d busy, %d in review, %d of them not yet escalated or with a decision not yet taken)\n", what, len(running), len(busy), len(running)-len(busy), len(untold))
			lastReport = time.Now()
		}
		if time.Now().After(deadline) {
			sort.Strings(busy)
			fmt.Fprintf(progress, "  %s: NOT at rest after %s: %d busy, %d reviews not escalated, %d of %d workflows visible\n", what, timeout, len(busy), len(untold), total, want)
			return rest{Reviews: reviews, Busy: append(busy, untold...), Took: time.Since(start)}, nil
		}
		select {
		case <-ctx.Done():
			return rest{}, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// gatewayPending counts what the gateway still has in store: refunds with
// a status change to come, and webhooks not yet sent (or being sent).
func (w *world) gatewayPending(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := w.Ledger(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, subs := range []map[string]*sandbox.Submission{l.Refunds, l.Chargebacks, l.AdyenRefunds, l.PayPalRefunds, l.StripeRefunds} {
		for _, s := range subs {
			if s.NextAt != nil {
				n++
			}
		}
	}
	for _, wh := range l.Webhooks {
		switch wh.State {
		case "queued", "held", "sending":
			n++
		}
	}
	return n, nil
}

// recorded reports whether the status lists every one of the decisionIds.
func recorded(st remediation.Status, decisionIDs []string) bool {
	for _, id := range decisionIDs {
		if !slices.ContainsFunc(st.Decisions, func(d remediation.DecisionRecord) bool { return d.DecisionID == id }) {
			return false
		}
	}
	return true
}
