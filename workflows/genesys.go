package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
)

// The write-backs to Genesys: the refund status on the participant, the
// failed wrap-up code, and the review's workitem closed at the end. Each is
// started and handed back as a waiter so several run side by side; their
// failures are recorded in the status, never fatal.

// waiter is an activity in flight whose failure is recorded, not fatal.
type waiter struct {
	future workflow.Future
	what   string
	r      *run
}

// Wait blocks until the activity ends; a nil waiter (nothing to do) returns
// at once.
func (w waiter) Wait(ctx workflow.Context) {
	if w.future == nil {
		return
	}
	if err := w.future.Get(ctx, nil); err != nil {
		w.r.noteWritebackError(describeFailure(w.what, err))
	}
}

func (r *run) noteWritebackError(msg string) {
	r.status.WritebackErrors = append(r.status.WritebackErrors, msg)
}

// writeOutcome tells Genesys the refund status, once per status, when the
// disposition carried the conversation and participant to write it on.
func (r *run) writeOutcome(ctx workflow.Context, refundStatus string) waiter {
	d := r.disposition
	if d.ConversationID == "" || d.ParticipantID == "" || r.carried.RefundStatus == refundStatus {
		return waiter{}
	}
	r.carried.RefundStatus = refundStatus
	update := activities.InteractionUpdate{
		ConversationID:   d.ConversationID,
		ParticipantID:    d.ParticipantID,
		TransactionID:    d.TransactionID,
		RefundStatus:     refundStatus,
		GatewayReference: r.status.GatewayReference,
	}
	actx := workflow.WithActivityOptions(ctx, r.genesysActivityOptions(ctx, "Write refundStatus "+refundStatus+" to Genesys"))
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
	actx := workflow.WithActivityOptions(ctx, r.genesysActivityOptions(ctx, "Set the failed-refund wrap-up code"))
	return waiter{future: workflow.ExecuteActivity(actx, a.SetFailedWrapup, wrapup), what: "Genesys wrap-up code", r: r}
}

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
	actx := workflow.WithActivityOptions(ctx, r.genesysActivityOptions(ctx, "Close workitem "+id+" as "+string(r.status.State)))
	return waiter{future: workflow.ExecuteActivity(actx, a.CloseWorkitem, closure), what: "closing Genesys workitem " + id, r: r}
}
