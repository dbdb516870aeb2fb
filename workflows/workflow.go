// Package workflows decides what happens to a financial disposition. It is
// deterministic: every side effect is an activity in package activities.
package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Remediation carries the operator settings into the workflow; the worker
// registers its RemediationWorkflow method under the contract's type name.
type Remediation struct {
	Settings Settings
}

// Register adds the workflows to a worker (or a replayer): the
// remediation under its contract name, and the short one that applies a
// decision made in Genesys (workitemdecision.go).
func (r *Remediation) Register(reg interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}) {
	reg.RegisterWorkflowWithOptions(r.RemediationWorkflow, workflow.RegisterOptions{Name: remediation.WorkflowType})
	r.RegisterWorkitemDecision(reg)
}

// RemediationWorkflow turns one financial disposition into exactly one refund
// or chargeback, or into a finance-ops review that a human decides. It ends
// Completed, Rejected or ResolvedManually; it never ends in silence.
//
// A review that outgrows its history continues as new with the same
// disposition and the review so far (continued); every other start,
// the starter's included, passes the disposition alone.
func (r *Remediation) RemediationWorkflow(ctx workflow.Context, d remediation.Disposition, continued *ContinuedReview) (remediation.Outcome, error) {
	run, err := startRun(ctx, r.Settings, d, continued)
	if err != nil {
		return remediation.Outcome{}, err
	}

	switch {
	case continued != nil && continued.Reopened != nil:
		run.reopen(ctx, *continued.Reopened)
	case continued != nil:
		run.resumeReview(ctx, continued)
	case d.Action == remediation.ActionReview:
		run.escalate(ctx, "the agent sent this transaction for finance review", "")
	case d.AmountError != "":
		run.escalate(ctx, "the refund amount cannot be used: "+d.AmountError, remediation.RefundStatusFailedReview)
	default:
		if s := run.submitAndSettle(ctx, d.Action, d.AmountMinor); s.accepted {
			run.complete(ctx)
		} else {
			run.escalate(ctx, s.failure, s.refundStatus)
		}
	}

	// A human decides from here: approve (submit again), reject, or resolved
	// by hand. Nothing is ever approved by time; reminders keep it in view.
	// A review left open for months would outgrow Temporal's history limit
	// and be terminated; it goes on in a new run instead.
	for {
		for !run.status.State.Terminal() {
			if run.reviewOutgrown(ctx) {
				return remediation.Outcome{}, run.continueAsNew(ctx)
			}
			run.awaitDecision(ctx)
		}
		// A failure or reversal of the refund that came in while the run
		// was ending puts it back in front of finance, here; one after the
		// run has closed does so in a new run (the starter's reopen).
		late, ok := run.lateGatewayFailure()
		if !ok {
			break
		}
		run.reopen(ctx, late)
	}
	// Only an applied decision ends a review, and it stops any reminder in
	// flight; this keeps that true should another way to end appear.
	run.stopReminder()

	// Decisions that arrived with or after the one that ended it are
	// recorded, so none is lost without a trace.
	run.drainDecisions(ctx, "the remediation had already ended as "+string(run.status.State))
	run.countEnded(ctx)
	return *run.status, nil
}
