package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/remediation"
)

// reviewHistoryLimit is the history length (events) at which a review that
// is still waiting goes on in a new run, unless Temporal suggests it first
// (GetContinueAsNewSuggested: by default at 4,096 events or 4 MB).
//
// Temporal warns at 10,240 events and terminates the workflow at 51,200:
// that would end a remediation in silence. A waiting review grows by 8 to
// 11 events per reminder, so 2,000 events is 180 to 250 reminders, a month
// or more at the default 4h: most reviews end long before and never
// continue. It is checked between decisions and reminders; what happens in
// between (an approval's submission retried for its whole window) adds
// tens of events, so the margin below the warning is wide. Lower would only
// cost new runs (a billable action each) for no more safety; a run of 2,000
// events is still quick to replay when a worker restarts.
//
// It is a constant, not a Settings knob, because it decides a command
// (continue-as-new), not a duration: a run is replayed against the history
// length recorded in its workflow task events, and a different limit would
// continue at another event than the history shows. Changing it needs a new
// GetVersion change. The recorded history (harness/record-histories) gets its
// continue-as-new from the dev server's suggestion, which the history
// carries, so it replays with this limit as it is.
const reviewHistoryLimit = 2000

// ContinuedReview is everything a remediation remembers between steps, held
// once (run.carried) and handed whole to the next run when a review
// continues as new: everything that run needs to go on waiting exactly where
// the last one was, and nothing it must do again (submit, write the failure
// to Genesys, escalate). It is the workflow's optional second input; a start
// without it (the starter's) is a new remediation.
//
// Its JSON is the continue-as-new input of runs already in flight: a field
// may be added (absent decodes as zero) but not renamed or retyped. Inputs
// written before escalated became derived (status.escalation) still carry an
// "escalated" field; it is ignored, as it always equalled
// status.escalation != "". An older build reading a newer input sees no
// "escalated" and re-runs the escalation at its next reminder, which finds
// the existing workitem (EscalateToFinance creates or finds).
type ContinuedReview struct {
	// Status is what the status query answers: state, attempts, errors,
	// escalation, workitem, amount (a corrected one included) and every
	// decision record. An applied record's decisionId is a duplicate from
	// then on, as in the run that applied it.
	Status remediation.Status `json:"status"`
	// RefundStatus is what Genesys was last told, so it is not told again.
	RefundStatus string    `json:"refundStatus,omitempty"`
	ReviewSince  time.Time `json:"reviewSince"`
	ReviewReason string    `json:"reviewReason"`
	// Reminders counts the reminders scheduled so far, NextReminder included.
	Reminders int `json:"reminders"`
	// NextReminder is when the pending reminder falls due; zero when none is
	// pending, and the next run schedules one a full interval away.
	NextReminder time.Time `json:"nextReminder,omitempty"`
	// OutcomeUnknown: some submission of this remediation went out and got
	// no answer, so the gateway may have made it. Every later failure says
	// so too: a new approval does not make the earlier call unhappen.
	OutcomeUnknown bool `json:"outcomeUnknown,omitempty"`
	// RenewKey: the gateway failed a refund it had taken, so every later
	// submission's Idempotency-Key ends in :r<attempt> (the old key would
	// replay the failed refund).
	RenewKey bool `json:"renewKey,omitempty"`
	// Reopened is the gateway's report of a failure or reversal that puts a
	// remediation which had ended Completed back in front of finance: the
	// starter starts the transaction's next run with it (reopenCompleted).
	// Never handed on by continue-as-new: the review is under way then.
	Reopened *remediation.GatewayEvent `json:"reopened,omitempty"`
	// LeftBehind counts the decision records and write-back errors that
	// earlier runs did not hand on (see carriedStatus): they are in those
	// runs' histories.
	LeftBehind int `json:"leftBehind,omitempty"`
}

// What a run hands on is bounded, so that no stream of signals (a script
// re-sending a decision, a reminder failing for weeks) can grow the
// continue-as-new input run after run until Temporal refuses it (2 MB) and
// terminates the workflow: the one ending this change exists to prevent.
// Every applied decision goes on, because its decisionId must stay a
// duplicate; applied decisions come only from people, each followed by a
// gateway retry window, so they stay few. Of the rest (refused, duplicate
// and late records, notes of up to 2,000 characters each) the newest
// carriedDecisionRecords go on, and the newest carriedWritebackErrors of the
// write-back errors: some 250 KB at most.
const (
	carriedDecisionRecords = 100
	carriedWritebackErrors = 20
)

// carriedStatus is the status handed to the next run, and how many records
// it leaves behind.
func carriedStatus(s remediation.Status) (remediation.Status, int) {
	left := 0
	others := 0
	for _, rec := range s.Decisions {
		if rec.Outcome != remediation.OutcomeApplied {
			others++
		}
	}
	if others > carriedDecisionRecords {
		kept := make([]remediation.DecisionRecord, 0, len(s.Decisions)-(others-carriedDecisionRecords))
		skip := others - carriedDecisionRecords
		for _, rec := range s.Decisions {
			if rec.Outcome != remediation.OutcomeApplied && skip > 0 {
				skip--
				left++
				continue
			}
			kept = append(kept, rec)
		}
		s.Decisions = kept
	}
	if n := len(s.WritebackErrors); n > carriedWritebackErrors {
		left += n - carriedWritebackErrors
		s.WritebackErrors = append([]string(nil), s.WritebackErrors[n-carriedWritebackErrors:]...)
	}
	return s, left
}

// restore takes over the review the previous run handed over, whole.
func (r *run) restore(c *ContinuedReview) {
	r.continued = true
	r.carried = *c
	if r.status.Decisions == nil {
		r.status.Decisions = []remediation.DecisionRecord{}
	}
	for _, rec := range r.status.Decisions {
		if rec.Outcome == remediation.OutcomeApplied && rec.DecisionID != "" {
			r.seen[rec.DecisionID] = true
		}
	}
}

// resumeReview goes back to waiting where the previous run was: the same
// details in the UI, and the pending reminder when it would have fallen due
// (one already due goes out at once). The gateway, Genesys and finance ops
// heard everything they need in earlier runs.
func (r *run) resumeReview(ctx workflow.Context, c *ContinuedReview) {
	if !c.NextReminder.IsZero() {
		r.scheduleReminder(ctx, max(c.NextReminder.Sub(workflow.Now(ctx)), time.Second))
	}
	r.showReviewDetails(ctx)
}

// reviewOutgrown reports whether the review should go on in a new run now.
// Only a review that is waiting and has nothing half done continues: no
// reminder in flight (its outcome is recorded first) and no decision
// waiting in the signal channel (it is applied first, the usual way, so
// none is lost or received twice). A decision that arrives while this run
// is continuing makes Temporal refuse the continue-as-new and replay the
// task with the signal in the channel, so it is applied here too.
func (r *run) reviewOutgrown(ctx workflow.Context) bool {
	if r.status.State != remediation.StateAwaitingReview || r.reminding != nil || r.decisions.Len() > 0 {
		return false
	}
	info := workflow.GetInfo(ctx)
	if !info.GetContinueAsNewSuggested() && info.GetCurrentHistoryLength() < reviewHistoryLimit {
		return false
	}
	// Asked only once the limit is met, so a workflow in flight that had not
	// met it yet when this shipped continues too when it does.
	if workflow.GetVersion(ctx, continueAsNewReview, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		return true
	}
	r.lateChecks++
	return workflow.GetVersion(ctx, lateContinueCheck(r.lateChecks), workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

// continueAsNew ends this run and starts the next with the same workflow ID
// (so the transaction's dedupe holds), the same disposition, and the review
// so far. The SDK carries the search attributes over, TemporalChangeVersion
// included: a continued run lists the changes the runs before it asked
// about, not only its own. A search by TemporalChangeVersion for workflows
// still on an old path is unaffected (a continued run is on the new one).
func (r *run) continueAsNew(ctx workflow.Context) error {
	c := r.carried
	c.Reopened = nil
	var left int
	c.Status, left = carriedStatus(c.Status)
	c.LeftBehind += left
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**Awaiting finance review**: continuing in a new run to keep the history short (%d events).",
		workflow.GetInfo(ctx).GetCurrentHistoryLength()))
	return workflow.NewContinueAsNewError(ctx, remediation.WorkflowType, r.disposition, &c)
}
