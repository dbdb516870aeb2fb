package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// run is one remediation in progress: its status (what the query shows) and
// the little the workflow needs to remember between steps.
type run struct {
	settings    Settings
	disposition remediation.Disposition
	status      remediation.Status
	decisions   workflow.ReceiveChannel
	seen        map[string]bool

	// refundStatus is what Genesys was last told, so it is told only once.
	refundStatus string
	// escalated is true once finance ops have a workitem or an email.
	escalated    bool
	reviewSince  time.Time
	reviewReason string
	reminders    int
	// reminder is the timer to the next reminder, due at reminderDue.
	reminder    workflow.Future
	reminderDue time.Time
	// reminding is a RemindFinance still in flight, and stopReminding
	// cancels it (non-blocking reminders only, see remind).
	reminding     workflow.Future
	stopReminding workflow.CancelFunc
	// outcomeUnknown: some submission of this remediation went out and got
	// no answer, so the gateway may have made it. Every later failure says
	// so too: a new approval does not make the earlier call unhappen.
	outcomeUnknown bool
	// continued is true in a run that took over a review from an earlier one.
	continued bool
	// leftBehind counts the records earlier runs kept in their own
	// histories rather than hand on (carriedStatus).
	leftBehind int
	// lateChecks counts the continue-as-new checks of a run that had met
	// the history limit before continue-as-new shipped (reviewOutgrown).
	lateChecks int
}

// nonBlockingReminder is the GetVersion change that took RemindFinance off
// the decision path. Before it, a decision that arrived while a reminder
// was being delivered waited for it (up to Genesys' retry hour).
const nonBlockingReminder = "non-blocking-reminder"

var a *activities.Activities

// startRun sets up a remediation: a new one, or the review continued (non
// nil) that a previous run of this workflow handed over.
func startRun(ctx workflow.Context, s Settings, d remediation.Disposition, continued *ContinuedReview) (*run, error) {
	r := &run{
		settings:    s,
		disposition: d,
		decisions:   workflow.GetSignalChannel(ctx, remediation.DecisionSignal),
		seen:        map[string]bool{},
		status: remediation.Status{
			State:         d.InitialState(),
			Action:        d.Action,
			TransactionID: d.TransactionID,
			AmountMinor:   d.AmountMinor,
			Currency:      d.Currency,
			Decisions:     []remediation.DecisionRecord{},
		},
	}
	if continued != nil {
		r.restore(continued)
	}
	if err := workflow.SetQueryHandler(ctx, remediation.StatusQuery, func() (remediation.Status, error) {
		return r.status, nil
	}); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	// A workflow started by hand (CLI or UI) may have no search attributes;
	// give it the same ones the starter sets, once.
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(TransactionIDKey); !ok {
		if err := workflow.UpsertTypedSearchAttributes(ctx, startAttributeUpdates(d)...); err != nil {
			return nil, fmt.Errorf("set search attributes: %w", err)
		}
	}
	r.setState(ctx, r.status.State)
	return r, nil
}

// setState records a new state and upserts RemediationState only when it
// differs from what visibility already holds.
func (r *run) setState(ctx workflow.Context, s remediation.State) {
	r.status.State = s
	if current, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(StateKey); current == string(s) {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, StateKey.ValueSet(string(s))); err != nil {
		// Only a malformed key can fail here; the query still shows the state.
		workflow.GetLogger(ctx).Error("upsert RemediationState", "error", err)
	}
}

// submit sends the refund or chargeback and reports whether the gateway took
// it. The Idempotency-Key stays the same for the original amount, so retries,
// crashes and approvals can never create a second refund.
func (r *run) submit(ctx workflow.Context, action remediation.Action, amountMinor int64) bool {
	d := r.disposition
	r.setState(ctx, remediation.StateSubmitting)
	r.status.Attempts++
	r.status.AmountMinor = amountMinor
	amount := formatAmount(amountMinor, d.Currency)
	key := remediation.IdempotencyKey(d.TransactionID, action, amountMinor, d.AmountMinor)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**Submitting** a %s of %s to the gateway (submission %d, Idempotency-Key `%s`); retried for up to %s before it goes to finance review.",
		action, amount, r.status.Attempts, key, r.settings.RetryWindow))

	submission := activities.Submission{
		TransactionID:   d.TransactionID,
		Action:          action,
		CustomerID:      d.CustomerID,
		CustomerTokenID: d.CustomerTokenID,
		AmountMinor:     amountMinor,
		Currency:        d.Currency,
		DispositionCode: d.DispositionCode,
		IdempotencyKey:  key,
		Timestamp:       d.Timestamp,
	}
	submitActivity := a.SubmitRefund
	if action == remediation.ActionChargeback {
		submitActivity = a.SubmitChargeback
	}
	actx := workflow.WithActivityOptions(ctx, r.settings.submitOptions(fmt.Sprintf("Submit %s %s", action, amount)))
	var result activities.SubmissionResult
	err := workflow.ExecuteActivity(actx, submitActivity, submission).Get(ctx, &result)
	r.drainDecisions(ctx, "it arrived while the refund was being submitted")
	if err != nil {
		r.outcomeUnknown = r.outcomeUnknown || outcomeUnknown(err)
		r.status.LastError = describeFailure("gateway "+string(action), err)
		if r.outcomeUnknown {
			r.status.LastError = unknownOutcomeWarning(action) + r.status.LastError
		}
		return false
	}
	r.status.LastError = ""
	r.status.GatewayReference = result.GatewayReference
	return true
}

// complete writes the success to Genesys and ends in Completed.
func (r *run) complete(ctx workflow.Context) {
	r.finish(ctx, remediation.StateCompleted, remediation.RefundStatusCompleted,
		fmt.Sprintf("**Completed**: gateway reference `%s`.", r.status.GatewayReference))
}

// escalate puts the transaction in front of finance ops: state AwaitingReview,
// the failure written to Genesys (when it is one), and one workitem or email.
func (r *run) escalate(ctx workflow.Context, reason string, failure bool) {
	r.setState(ctx, remediation.StateAwaitingReview)
	if r.reviewSince.IsZero() {
		r.reviewSince = workflow.Now(ctx)
	}
	r.reviewReason = reason
	if failure && r.status.LastError == "" {
		r.status.LastError = reason
	}
	var pending []waiter
	if failure {
		pending = append(pending, r.writeOutcome(ctx, remediation.RefundStatusFailedReview), r.setFailedWrapup(ctx, reason))
	}
	r.notifyFinance(ctx)
	for _, p := range pending {
		p.Wait(ctx)
	}
	r.showReviewDetails(ctx)
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
		Reason:          r.reviewReason,
		ConversationID:  d.ConversationID,
		AgentID:         d.AgentID,
		CustomerID:      d.CustomerID,
	}
	actx := workflow.WithActivityOptions(ctx, r.settings.genesysOptions("Escalate to finance ops: "+oneLine(r.reviewReason, 120)))
	var result activities.EscalationResult
	if err := workflow.ExecuteActivity(actx, a.EscalateToFinance, escalation).Get(ctx, &result); err != nil {
		r.noteWritebackError(describeFailure("escalation to finance ops (tried again at the next reminder)", err))
		return
	}
	r.escalated = true
	r.status.Escalation = result.Channel
	if result.WorkitemID != "" {
		r.status.WorkitemID = result.WorkitemID
	}
}

// awaitDecision waits for one finance decision or the next reminder.
func (r *run) awaitDecision(ctx workflow.Context) {
	if r.reminder == nil {
		r.reminders++
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
	if r.reminding != nil {
		selector.AddFuture(r.reminding, func(workflow.Future) { delivered = true })
	}
	selector.Select(ctx)

	switch {
	case received:
		r.apply(ctx, decision)
	case reminded:
		r.reminder = nil
		r.remind(ctx)
	case delivered:
		err := r.reminding.Get(ctx, nil)
		r.reminding, r.stopReminding = nil, nil
		if err != nil {
			r.noteWritebackError(describeFailure("reminder to finance ops", err))
		}
	}
}

// scheduleReminder starts the timer to reminder number r.reminders.
func (r *run) scheduleReminder(ctx workflow.Context, after time.Duration) {
	r.reminderDue = workflow.Now(ctx).Add(after)
	r.reminder = workflow.NewTimerWithOptions(ctx, after, workflow.TimerOptions{
		Summary: fmt.Sprintf("Remind finance ops (#%d) if still undecided", r.reminders),
	})
}

// remind nudges finance ops, or retries an escalation that did not get through.
func (r *run) remind(ctx workflow.Context) {
	if !r.escalated {
		r.notifyFinance(ctx)
		r.showReviewDetails(ctx)
		return
	}
	reminder := activities.Reminder{
		TransactionID: r.disposition.TransactionID,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		WorkitemID:    r.status.WorkitemID,
		Reason:        r.reviewReason,
		Count:         r.reminders,
		WaitingSince:  r.reviewSince.UTC().Format(time.RFC3339),
	}
	actx := workflow.WithActivityOptions(ctx, r.settings.genesysOptions(fmt.Sprintf("Remind finance ops (#%d)", r.reminders)))
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

// apply checks one decision against the rules and carries it out.
func (r *run) apply(ctx workflow.Context, dec remediation.Decision) {
	rec := remediation.DecisionRecord{Decision: dec, ReceivedAt: workflow.Now(ctx).UTC().Format(time.RFC3339)}
	refuse := func(outcome, reason string) {
		rec.Outcome, rec.Reason = outcome, reason
		r.status.Decisions = append(r.status.Decisions, rec)
	}
	switch {
	case dec.DecisionID != "" && r.seen[dec.DecisionID]:
		refuse(remediation.OutcomeDuplicate, "decisionId already received; ignored")
		return
	case !remediation.ValidDecision(dec.Decision):
		refuse(remediation.OutcomeRefused, fmt.Sprintf("decision %q is not approve, reject or resolved", dec.Decision))
		return
	case strings.TrimSpace(dec.Approver) == "":
		refuse(remediation.OutcomeRefused, "an approver is required")
		return
	case r.disposition.AgentID != "" && strings.EqualFold(strings.TrimSpace(dec.Approver), strings.TrimSpace(r.disposition.AgentID)):
		refuse(remediation.OutcomeRefused, "the approver is the agent who took the call (four-eyes rule)")
		return
	case r.status.State != remediation.StateAwaitingReview:
		refuse(remediation.OutcomeNotApplicable, "not awaiting review (state "+string(r.status.State)+")")
		return
	}

	amountMinor := r.disposition.AmountMinor
	if dec.Decision == remediation.DecisionApprove {
		corrected, err := r.approvedAmount(dec)
		if err != nil {
			refuse(remediation.OutcomeRefused, err.Error())
			return
		}
		amountMinor = corrected
	}
	if dec.DecisionID != "" {
		r.seen[dec.DecisionID] = true
	}
	rec.Outcome = remediation.OutcomeApplied
	r.status.Decisions = append(r.status.Decisions, rec)
	r.stopReminder()

	switch dec.Decision {
	case remediation.DecisionApprove:
		action := r.disposition.Action
		if action == remediation.ActionReview {
			// An approved review is a refund: the remedy finance ops can grant.
			action = remediation.ActionRefund
		}
		if r.submit(ctx, action, amountMinor) {
			r.complete(ctx)
			return
		}
		r.escalate(ctx, "approved by "+dec.Approver+", but the gateway failed again: "+r.status.LastError, true)
	case remediation.DecisionReject:
		r.finish(ctx, remediation.StateRejected, remediation.RefundStatusRejected, "**Rejected** by "+dec.Approver+".")
	case remediation.DecisionResolved:
		r.finish(ctx, remediation.StateResolvedManually, remediation.RefundStatusResolvedManually, "**Resolved by hand** outside the system, recorded by "+dec.Approver+".")
	}
}

// approvedAmount is the amount an approval submits: the corrected one when
// given, otherwise the original, which must then be a valid amount.
func (r *run) approvedAmount(dec remediation.Decision) (int64, error) {
	if dec.RefundAmount != "" {
		v, err := money.ParseRefund(string(dec.RefundAmount), r.disposition.Currency)
		if err != nil {
			return 0, fmt.Errorf("refundAmount %s", err)
		}
		return v, nil
	}
	if r.disposition.AmountError != "" || r.disposition.AmountMinor <= 0 {
		return 0, errors.New("the original amount cannot be used; approve with a refundAmount")
	}
	return r.disposition.AmountMinor, nil
}

// finish ends the remediation in s: Genesys is told the outcome and, when
// the review had a workitem, the workitem is closed, side by side. Their
// failures are recorded, never fatal: the outcome stands.
func (r *run) finish(ctx workflow.Context, s remediation.State, refundStatus, details string) {
	r.setState(ctx, s)
	workflow.SetCurrentDetails(ctx, details)
	pending := []waiter{r.writeOutcome(ctx, refundStatus), r.closeWorkitem(ctx)}
	for _, p := range pending {
		p.Wait(ctx)
	}
}

// closeReviewWorkitem is the GetVersion change that closes a review's workitem
// when the review ends. Before it, the workitem stayed open in the finance
// queue after the decision.
const closeReviewWorkitem = "close-workitem"

// closeWorkitem closes the review's workitem (an email has nothing to
// close; a remediation that never went to review has no workitem) and
// records the outcome on it. The workitem ID is in the status, so a run
// continued as new closes the workitem an earlier run opened. The version
// is asked only when there is a workitem, so the happy path's history is
// unchanged.
func (r *run) closeWorkitem(ctx workflow.Context) waiter {
	id := r.status.WorkitemID
	if id == "" {
		return waiter{}
	}
	if workflow.GetVersion(ctx, closeReviewWorkitem, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// Histories from before the change ended without closing it.
		return waiter{}
	}
	closure := activities.WorkitemClosure{
		TransactionID:    r.disposition.TransactionID,
		WorkflowID:       workflow.GetInfo(ctx).WorkflowExecution.ID,
		WorkitemID:       id,
		State:            r.status.State,
		GatewayReference: r.status.GatewayReference,
	}
	if dec, ok := r.endingDecision(); ok {
		closure.DecidedBy, closure.DecisionID, closure.DecidedAt = dec.Approver, dec.DecisionID, dec.ReceivedAt
	}
	actx := workflow.WithActivityOptions(ctx, r.settings.genesysOptions("Close workitem "+id+" as "+string(r.status.State)))
	return waiter{future: workflow.ExecuteActivity(actx, a.CloseWorkitem, closure), what: "closing Genesys workitem " + id, r: r}
}

// endingDecision is the last decision applied: the one that ended the
// review (records of decisions not applied may follow it).
func (r *run) endingDecision() (remediation.DecisionRecord, bool) {
	for i := len(r.status.Decisions) - 1; i >= 0; i-- {
		if rec := r.status.Decisions[i]; rec.Outcome == remediation.OutcomeApplied {
			return rec, true
		}
	}
	return remediation.DecisionRecord{}, false
}

// drainDecisions records, without applying, every decision already waiting.
func (r *run) drainDecisions(ctx workflow.Context, reason string) {
	for {
		var dec remediation.Decision
		if !r.decisions.ReceiveAsync(&dec) {
			return
		}
		outcome := remediation.OutcomeNotApplicable
		if dec.DecisionID != "" && r.seen[dec.DecisionID] {
			outcome = remediation.OutcomeDuplicate
		}
		r.status.Decisions = append(r.status.Decisions, remediation.DecisionRecord{
			Decision: dec, ReceivedAt: workflow.Now(ctx).UTC().Format(time.RFC3339), Outcome: outcome, Reason: reason,
		})
	}
}

// waiter is an activity in flight whose failure is recorded, not fatal.
type waiter struct {
	future workflow.Future
	what   string
	r      *run
}

func (w waiter) Wait(ctx workflow.Context) {
	if w.future == nil {
		return
	}
	if err := w.future.Get(ctx, nil); err != nil {
		w.r.noteWritebackError(describeFailure(w.what, err))
	}
}

// writeOutcome tells Genesys the refund status, once per status, when the
// disposition carried the conversation and participant to write it on.
func (r *run) writeOutcome(ctx workflow.Context, refundStatus string) waiter {
	d := r.disposition
	if d.ConversationID == "" || d.ParticipantID == "" || r.refundStatus == refundStatus {
		return waiter{}
	}
	r.refundStatus = refundStatus
	update := activities.InteractionUpdate{
		ConversationID:   d.ConversationID,
		ParticipantID:    d.ParticipantID,
		TransactionID:    d.TransactionID,
		RefundStatus:     refundStatus,
		GatewayReference: r.status.GatewayReference,
	}
	actx := workflow.WithActivityOptions(ctx, r.settings.genesysOptions("Write refundStatus "+refundStatus+" to Genesys"))
	return waiter{future: workflow.ExecuteActivity(actx, a.UpdateInteraction, update), what: "Genesys participant attributes", r: r}
}

// setFailedWrapup sets the failure wrap-up code when the disposition says
// which communication to set it on (the activity skips it when no code is
// configured).
func (r *run) setFailedWrapup(ctx workflow.Context, reason string) waiter {
	d := r.disposition
	if d.ConversationID == "" || d.ParticipantID == "" || d.CommunicationID == "" {
		return waiter{}
	}
	wrapup := activities.FailedWrapup{
		ConversationID:  d.ConversationID,
		ParticipantID:   d.ParticipantID,
		CommunicationID: d.CommunicationID,
		TransactionID:   d.TransactionID,
		Notes:           oneLine("Refund failed, sent to finance review: "+reason, 500),
	}
	actx := workflow.WithActivityOptions(ctx, r.settings.genesysOptions("Set the failed-refund wrap-up code"))
	return waiter{future: workflow.ExecuteActivity(actx, a.SetFailedWrapup, wrapup), what: "Genesys wrap-up code", r: r}
}

func (r *run) noteWritebackError(msg string) {
	r.status.WritebackErrors = append(r.status.WritebackErrors, msg)
}

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
		r.reviewSince.UTC().Format(time.RFC3339), r.reviewReason, where, remediation.DecisionSignal, r.settings.ReviewReminder)
	if r.continued {
		// A new run has no static summary (continue-as-new does not carry
		// it), so the details say what this is.
		details += "\n\n" + r.disposition.Summary() + ": continued as new from an earlier run of this workflow, which has the full history."
		if r.leftBehind > 0 {
			details += fmt.Sprintf(" The status query lists the newest records: %d older decision records or write-back errors are only in earlier runs.", r.leftBehind)
		}
	}
	workflow.SetCurrentDetails(ctx, details)
}

// describeFailure turns an activity failure into one line for finance ops:
// what failed, whether retries ran out, and the last error's type and
// message, never a stack trace.
func describeFailure(what string, err error) string {
	var b strings.Builder
	b.WriteString(what + " failed")
	var actErr *temporal.ActivityError
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	// Retries stop at a final error or when the window runs out; a last
	// error that was itself retryable (or a timeout) means the window did.
	windowEnded := errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_TIMEOUT
	if errors.As(err, &appErr) && !appErr.NonRetryable() && !slices.Contains(activities.FinalErrorTypes, appErr.Type()) {
		windowEnded = true
	}
	if errors.As(err, &timeoutErr) {
		windowEnded = true
	}
	if windowEnded {
		b.WriteString(" after retrying for the whole retry window")
	}
	switch {
	case errors.As(err, &appErr):
		fmt.Fprintf(&b, " (%s): %s", appErr.Type(), oneLine(appErr.Message(), 300))
	case errors.As(err, &timeoutErr):
		fmt.Fprintf(&b, ": timed out (%s)", timeoutErr.TimeoutType())
	default:
		b.WriteString(": " + oneLine(err.Error(), 300))
	}
	return b.String()
}

// outcomeUnknown reports whether a failed submission may nonetheless have
// been made. The workflow sees only the last attempt's failure: the
// activity marks it when that attempt or an earlier one went unanswered
// (activities.SubmissionFailure), and a timeout means Temporal cut an
// attempt off mid-call (start-to-close, or the window closing on it; its
// cause is then the attempt before). It reads only the error, so it is as
// deterministic as the history it comes from.
func outcomeUnknown(err error) bool {
	var timeoutErr *temporal.TimeoutError
	return errors.As(err, &timeoutErr) || activities.SubmissionOutcomeUnknown(err)
}

// unknownOutcomeWarning heads the failure description (and so the review
// reason, the workitem, the wrap-up notes and the status' lastError). It
// comes first, and says the money may have moved in its first words,
// because the workitem's 512 characters may leave the reason only 40.
func unknownOutcomeWarning(action remediation.Action) string {
	return fmt.Sprintf("OUTCOME UNKNOWN: the %s may have been made (a gateway call timed out or was cut off mid-request); check with the gateway before deciding. ", action)
}

func formatAmount(minor int64, currency string) string {
	s, err := money.FormatMajor(minor, currency)
	if err != nil {
		return fmt.Sprintf("%d minor units of %s", minor, currency)
	}
	return s + " " + currency
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
