package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// escalate puts the transaction in front of finance ops: state AwaitingReview,
// the failure written to Genesys (refundStatus, when it is one; "" for a
// review the agent asked for), and one workitem or email.
func (r *run) escalate(ctx workflow.Context, reason, refundStatus string) {
	failure := refundStatus != ""
	r.setState(ctx, remediation.StateAwaitingReview)
	r.countReviewOpened(ctx)
	if r.carried.ReviewSince.IsZero() {
		r.carried.ReviewSince = workflow.Now(ctx)
	}
	r.carried.ReviewReason = reason
	if failure && r.status.LastError == "" {
		r.status.LastError = reason
	}
	var pending []waiter
	if failure {
		pending = append(pending, r.writeOutcome(ctx, refundStatus), r.setFailedWrapup(ctx, reason))
	}
	r.notifyFinance(ctx)
	for _, p := range pending {
		p.Wait(ctx)
	}
	r.showReviewDetails(ctx)
}

// escalated reports whether finance ops have the review: a workitem or an
// email reached them.
func (r *run) escalated() bool {
	return r.status.Escalation != ""
}

// notifyFinance creates (or finds) the transaction's one escalation.
func (r *run) notifyFinance(ctx workflow.Context) {
	d := r.disposition
	escalation := activities.Escalation{
		TransactionID:   d.TransactionID,
		WorkflowID:      workflow.GetInfo(ctx).WorkflowExecution.ID,
		Action:          d.Action,
		DispositionCode: d.DispositionCode,
		AmountMinor:     r.status.AmountMinor,
		Currency:        d.Currency,
		AmountText:      d.AmountText,
		Reason:          r.carried.ReviewReason,
		ConversationID:  d.ConversationID,
		AgentID:         d.AgentID,
		CustomerID:      d.CustomerID,
		Reopen:          r.reopened,
	}
	actx := workflow.WithActivityOptions(ctx, r.genesysActivityOptions(ctx, "Escalate to finance ops: "+oneLine(r.carried.ReviewReason, 120)))
	var result activities.EscalationResult
	if err := workflow.ExecuteActivity(actx, a.EscalateToFinance, escalation).Get(ctx, &result); err != nil {
		r.noteWritebackError(describeFailure("escalation to finance ops (tried again at the next reminder)", err))
		r.countEscalationUndelivered(ctx)
		return
	}
	r.status.Escalation = result.Channel
	if result.WorkitemID != "" {
		r.status.WorkitemID = result.WorkitemID
	}
}

// awaitDecision waits for one finance decision or the next reminder.
func (r *run) awaitDecision(ctx workflow.Context) {
	if r.reminder == nil {
		r.carried.Reminders++
		r.scheduleReminder(ctx, r.settings.ReviewReminder)
	}
	var decision remediation.Decision
	received, reminded, delivered := false, false, false
	selector := workflow.NewSelector(ctx)
	selector.AddReceive(r.decisions, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &decision)
		received = true
	})
	selector.AddFuture(r.reminder, func(workflow.Future) { reminded = true })
	// In review the gateway's word changes nothing by itself (a human
	// decides), but finance ops see it in the status.
	selector.AddReceive(r.gatewayEvents, func(c workflow.ReceiveChannel, _ bool) {
		var ev remediation.GatewayEvent
		c.Receive(ctx, &ev)
		r.noteGatewayWord(ev)
	})
	if r.reminding != nil {
		selector.AddFuture(r.reminding, func(workflow.Future) { delivered = true })
	}
	selector.Select(ctx)

	switch {
	case received:
		r.apply(ctx, decision)
	case reminded:
		r.reminder, r.carried.NextReminder = nil, time.Time{}
		r.remind(ctx)
	case delivered:
		err := r.reminding.Get(ctx, nil)
		r.reminding, r.stopReminding = nil, nil
		if err != nil {
			r.noteWritebackError(describeFailure("reminder to finance ops", err))
		}
	}
}

// scheduleReminder starts the timer to reminder number carried.Reminders.
func (r *run) scheduleReminder(ctx workflow.Context, after time.Duration) {
	r.carried.NextReminder = workflow.Now(ctx).Add(after)
	r.reminder = workflow.NewTimerWithOptions(ctx, after, workflow.TimerOptions{
		Summary: fmt.Sprintf("Remind finance ops (#%d) if still undecided", r.carried.Reminders),
	})
}

// remind nudges finance ops, or retries an escalation that did not get through.
func (r *run) remind(ctx workflow.Context) {
	if !r.escalated() {
		r.notifyFinance(ctx)
		r.showReviewDetails(ctx)
		return
	}
	reminder := activities.Reminder{
		TransactionID: r.disposition.TransactionID,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		WorkitemID:    r.status.WorkitemID,
		Reason:        r.carried.ReviewReason,
		Count:         r.carried.Reminders,
		WaitingSince:  r.carried.ReviewSince.UTC().Format(time.RFC3339),
	}
	actx := workflow.WithActivityOptions(ctx, r.genesysActivityOptions(ctx, fmt.Sprintf("Remind finance ops (#%d)", r.carried.Reminders)))
	if workflow.GetVersion(ctx, nonBlockingReminder, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// Histories from before the change wait here, and must keep doing so.
		if err := workflow.ExecuteActivity(actx, a.RemindFinance, reminder).Get(ctx, nil); err != nil {
			r.noteWritebackError(describeFailure("reminder to finance ops", err))
		}
		return
	}
	// The reminder runs while awaitDecision keeps listening: with Genesys
	// slow or down it may take its whole retry hour, and a decision must not
	// wait behind it. One in flight is enough; a reminder that falls due
	// meanwhile is skipped rather than stacked behind it.
	if r.reminding != nil {
		return
	}
	rctx, cancel := workflow.WithCancel(actx)
	r.reminding, r.stopReminding = workflow.ExecuteActivity(rctx, a.RemindFinance, reminder), cancel
}

// stopReminder cancels a reminder still in flight once a decision is
// applied: it asks finance ops for what they have just decided. Cancelling
// rather than waiting keeps the decision, and the end of the workflow, from
// waiting behind Genesys. Cancelling rather than leaving it unawaited makes
// the end deliberate: the history says the reminder was called off, the
// server retries it no more, and an approval that goes back to submitting
// has no stale reminder running beside it. RemindFinance heartbeats
// (activities/heartbeat.go), so an attempt already under way hears of the
// cancel at its next heartbeat and abandons its Genesys call: the nudge may
// or may not have reached the workitem, never a wrong outcome.
// A no-op when none is in flight (always, on the old path).
func (r *run) stopReminder() {
	if r.stopReminding == nil {
		return
	}
	r.stopReminding()
	r.reminding, r.stopReminding = nil, nil
}

// showReviewDetails tells whoever opens the workflow in the UI what it waits
// for, and where finance ops have it.
func (r *run) showReviewDetails(ctx workflow.Context) {
	where := "no escalation has reached finance ops yet: it is tried again at every reminder; find this workflow with `RemediationState = 'AwaitingReview'`"
	switch {
	case r.status.WorkitemID != "":
		where = "Genesys workitem `" + r.status.WorkitemID + "`"
	case r.status.Escalation != "":
		where = "an email to finance ops"
	}
	details := fmt.Sprintf(
		"**Awaiting finance review** since %s.\n\nReason: %s\n\nEscalated via %s. Waiting for the `%s` signal: `approve` (optionally with a corrected `refundAmount`), `reject` or `resolved`. Reminders every %s.",
		r.carried.ReviewSince.UTC().Format(time.RFC3339), r.carried.ReviewReason, where, remediation.DecisionSignal, r.settings.ReviewReminder)
	if r.continued {
		// A new run has no static summary (continue-as-new does not carry
		// it), so the details say what this is.
		details += "\n\n" + r.disposition.Summary() + ": continued as new from an earlier run of this workflow, which has the full history."
		if r.carried.LeftBehind > 0 {
			details += fmt.Sprintf(" The status query lists the newest records: %d older decision records or write-back errors are only in earlier runs.", r.carried.LeftBehind)
		}
	}
	workflow.SetCurrentDetails(ctx, details)
}
