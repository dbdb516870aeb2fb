package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// submitAndSettle submits, and when the gateway takes the refund without a
// final word, waits for that word: what it returns is accepted only once the
// money has arrived.
func (r *run) submitAndSettle(ctx workflow.Context, action remediation.Action, amountMinor int64) submission {
	s := r.submit(ctx, action, amountMinor)
	if !s.pending {
		return s
	}
	return r.awaitSettlement(ctx)
}

// settlementWait is one wait for the gateway's final word.
type settlementWait struct {
	events workflow.ReceiveChannel
	// seen holds the eventIds applied or ignored in this wait.
	seen map[string]bool
	// lastAt is when the last applied event happened at the gateway; an
	// older one never moves the state back.
	lastAt time.Time
	polls  int
}

// awaitSettlement waits in AwaitingGateway for the gateway's final word on
// the refund it took: its webhook (the gateway-event signal) or a poll,
// whichever comes first. The polls back off from SettlementPoll to
// maxSettlementPoll, so a lost webhook never strands the refund; past
// SettlementTimeout without a final word it goes to review. Genesys hears
// Refund_Pending once, however many polls it takes. A decision that arrives
// meanwhile is recorded, not applied: nothing is in review.
func (r *run) awaitSettlement(ctx workflow.Context) submission {
	r.setState(ctx, remediation.StateAwaitingGateway)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**Awaiting the gateway**: it took the refund (reference `%s`, status `%s`) and has not settled it. Waiting for its webhook (`%s` signal) or a poll; review after %s.",
		r.status.GatewayReference, r.status.GatewayStatus, remediation.GatewayEventSignal, r.settings.SettlementTimeout))
	pending := r.writeOutcome(ctx, remediation.RefundStatusPending)
	if workflow.GetVersion(ctx, settleBesidePendingWrite, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// Histories from before it waited for the write first.
		pending.Wait(ctx)
		return r.waitForSettlement(ctx)
	}
	// The write may wait its turn on the paced Genesys queue; the wait for
	// the gateway starts now. Genesys hears Refund_Pending before the
	// outcome that follows it.
	s := r.waitForSettlement(ctx)
	pending.Wait(ctx)
	return s
}

// waitForSettlement is awaitSettlement's wait: the webhook, the polls and
// the deadline.
func (r *run) waitForSettlement(ctx workflow.Context) submission {
	w := &settlementWait{events: r.gatewayEvents, seen: map[string]bool{}}
	waitCtx, stopTimers := workflow.WithCancel(ctx)
	defer stopTimers()
	timeout, interval := r.settings.settlementTimeouts()
	deadline := workflow.NewTimerWithOptions(waitCtx, timeout, workflow.TimerOptions{
		Summary: "Review if the gateway has not settled the refund by then",
	})
	for {
		poll := workflow.NewTimerWithOptions(waitCtx, interval, workflow.TimerOptions{
			Summary: fmt.Sprintf("Ask the gateway about the refund (poll %d)", w.polls+1),
		})
		polled := false
		for !polled {
			var ev remediation.GatewayEvent
			var timedOut bool
			selector := workflow.NewSelector(ctx)
			selector.AddReceive(w.events, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &ev) })
			selector.AddReceive(r.decisions, func(c workflow.ReceiveChannel, _ bool) {
				var dec remediation.Decision
				c.Receive(ctx, &dec)
				r.apply(ctx, dec)
			})
			selector.AddFuture(poll, func(workflow.Future) { polled = true })
			selector.AddFuture(deadline, func(workflow.Future) { timedOut = true })
			selector.Select(ctx)

			switch {
			case timedOut:
				return submission{
					failure: fmt.Sprintf("the gateway took the refund (reference %s) but gave no final word within %s: check with the gateway before deciding",
						r.status.GatewayReference, timeout),
					refundStatus: remediation.RefundStatusFailedReview,
				}
			case polled:
				ev = r.pollGateway(ctx, w)
			}
			if ev.EventID == "" && ev.Status == "" {
				continue
			}
			if s, final := r.takeGatewayEvent(w, ev); final {
				return s
			}
		}
		interval = min(2*interval, maxSettlementPoll)
	}
}

// pollGateway asks the gateway where the refund stands. A poll that fails
// is no event: the next one asks again.
func (r *run) pollGateway(ctx workflow.Context, w *settlementWait) remediation.GatewayEvent {
	w.polls++
	check := activities.SettlementCheck{TransactionID: r.disposition.TransactionID, GatewayReference: r.status.GatewayReference, Poll: w.polls}
	actx := workflow.WithActivityOptions(ctx, r.settings.pollOptions(fmt.Sprintf("Ask the gateway about refund %s (poll %d)", r.status.GatewayReference, w.polls)))
	var ev remediation.GatewayEvent
	if err := workflow.ExecuteActivity(actx, a.CheckSettlement, check).Get(ctx, &ev); err != nil {
		workflow.GetLogger(ctx).Warn("settlement poll failed; asking again at the next", "poll", w.polls, "error", err)
		return remediation.GatewayEvent{}
	}
	return ev
}

// takeGatewayEvent applies one gateway word and reports whether it was the
// final one, with what became of the submission. A repeated event, one for
// another refund, one older than the last applied, or a term no rule knows
// changes nothing.
func (r *run) takeGatewayEvent(w *settlementWait, ev remediation.GatewayEvent) (submission, bool) {
	if ev.EventID != "" {
		if w.seen[ev.EventID] {
			return submission{}, false
		}
		w.seen[ev.EventID] = true
	}
	if ev.GatewayReference != "" && r.status.GatewayReference != "" && ev.GatewayReference != r.status.GatewayReference {
		return submission{}, false
	}
	if at, err := time.Parse(time.RFC3339, ev.OccurredAt); err == nil {
		if at.Before(w.lastAt) {
			return submission{}, false
		}
		w.lastAt = at
	}
	settlement := remediation.SettlementOf(ev.Status)
	if settlement == remediation.SettlementUnknown {
		return submission{}, false
	}
	r.status.GatewayStatus = ev.Status
	reason := ""
	if ev.Reason != "" {
		reason = ": " + oneLine(ev.Reason, 200)
	}
	switch settlement {
	case remediation.SettlementSucceeded:
		return submission{accepted: true}, true
	case remediation.SettlementFailed:
		// The old key would replay this failed refund: an approval makes a
		// new one.
		r.carried.RenewKey = true
		failure := fmt.Sprintf("the gateway reported refund %s %s%s", r.status.GatewayReference, ev.Status, reason)
		r.status.LastError = failure
		return submission{failure: failure, refundStatus: remediation.RefundStatusFailedReview}, true
	case remediation.SettlementReversed:
		r.carried.RenewKey = true
		failure := fmt.Sprintf("the gateway reversed refund %s%s", r.status.GatewayReference, reason)
		r.status.LastError = failure
		return submission{failure: failure, refundStatus: remediation.RefundStatusReversedReview}, true
	}
	return submission{}, false
}

// reopen puts a remediation that had ended Completed back in front of
// finance: the gateway reported the refund failed or reversed after the
// end. The money trail stays one: no refund is made until a human approves,
// and then under a renewed key (the old one would replay the failed refund;
// Stripe's lookup-before-create still sees the refunds already made).
func (r *run) reopen(ctx workflow.Context, ev remediation.GatewayEvent) {
	r.continued, r.reopened = false, true
	r.carried.Reopened = nil
	r.carried.RenewKey = true
	r.carried.ReviewSince, r.carried.Reminders, r.carried.NextReminder = time.Time{}, 0, time.Time{}
	// The earlier review's workitem was closed with it; finance ops get it
	// again (the escalation reopens it) or an email.
	r.status.Escalation, r.status.WorkitemID = "", ""
	r.status.GatewayStatus = ev.Status

	refundStatus, what := remediation.RefundStatusFailedReview, "failed"
	if remediation.SettlementOf(ev.Status) == remediation.SettlementReversed {
		refundStatus, what = remediation.RefundStatusReversedReview, "reversed"
	}
	reason := fmt.Sprintf("after this remediation ended Completed, the gateway reported refund %s %s", r.status.GatewayReference, what)
	if ev.Reason != "" {
		reason += ": " + oneLine(ev.Reason, 200)
	}
	reason += ". The customer may not have the money: approve to refund again, reject, or resolve by hand."
	r.status.LastError = reason
	r.escalate(ctx, reason, refundStatus)
}

// noteGatewayWord records, without acting on it, the gateway's word on the
// current refund outside a settlement wait (in review, or after the end).
func (r *run) noteGatewayWord(ev remediation.GatewayEvent) {
	if !r.sameRefund(ev) {
		return
	}
	word := remediation.SettlementOf(ev.Status)
	if word == remediation.SettlementUnknown || !word.Later(remediation.SettlementOf(r.status.GatewayStatus)) {
		// A late or redelivered word (a "pending", or a "succeeded" after
		// the reversal) never hides the one finance ops act on.
		return
	}
	r.status.GatewayStatus = ev.Status
}

// lateGatewayFailure notes every gateway event already waiting, so none is
// left unhandled when the run ends, and returns a failure or reversal of
// the refund of a remediation that ended Completed.
func (r *run) lateGatewayFailure() (remediation.GatewayEvent, bool) {
	for {
		var ev remediation.GatewayEvent
		if !r.gatewayEvents.ReceiveAsync(&ev) {
			return remediation.GatewayEvent{}, false
		}
		r.noteGatewayWord(ev)
		switch remediation.SettlementOf(ev.Status) {
		case remediation.SettlementFailed, remediation.SettlementReversed:
			if r.status.State == remediation.StateCompleted && r.sameRefund(ev) {
				return ev, true
			}
		}
	}
}

// sameRefund reports whether ev is about the refund of the last submission.
func (r *run) sameRefund(ev remediation.GatewayEvent) bool {
	return ev.GatewayReference == "" || r.status.GatewayReference == "" || ev.GatewayReference == r.status.GatewayReference
}
