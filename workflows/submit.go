package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// submission is what became of one submission to the gateway.
type submission struct {
	// accepted: the gateway took it and its word is final success.
	accepted bool
	// pending: the gateway took it and will settle it later.
	pending bool
	// refundStatus is what Genesys is told of a failure: the review's
	// (Refund_Failed_Manual_Review) unless a reversal says otherwise.
	refundStatus string
	// failure says why not, for finance ops (the review reason); it is
	// also the status' lastError.
	failure string
}

// submit sends the refund or chargeback and says what the gateway made of
// it. The Idempotency-Key stays the same for the original amount, so
// retries, crashes and approvals can never create a second refund.
func (r *run) submit(ctx workflow.Context, action remediation.Action, amountMinor int64) submission {
	d := r.disposition
	r.setState(ctx, remediation.StateSubmitting)
	r.status.Attempts++
	r.status.AmountMinor = amountMinor
	amount := formatAmount(amountMinor, d.Currency)
	key := remediation.IdempotencyKey(d.TransactionID, action, amountMinor, d.AmountMinor)
	if r.carried.RenewKey {
		key = remediation.RenewedIdempotencyKey(key, r.status.Attempts)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**Submitting** a %s of %s to the gateway (submission %d, Idempotency-Key `%s`); retried for up to %s before it goes to finance review.",
		action, amount, r.status.Attempts, key, r.settings.RetryWindow))

	request := activities.Submission{
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
	future := workflow.ExecuteActivity(actx, submitActivity, request)
	r.countSubmitted(ctx, action, amountMinor)
	err := future.Get(ctx, &result)
	r.drainDecisions(ctx, "it arrived while the refund was being submitted")
	if err != nil {
		r.carried.OutcomeUnknown = r.carried.OutcomeUnknown || outcomeUnknown(err)
		failure := describeFailure("gateway "+string(action), err)
		if r.carried.OutcomeUnknown {
			failure = unknownOutcomeWarning(action) + failure
		}
		r.status.LastError = failure
		return submission{failure: failure, refundStatus: remediation.RefundStatusFailedReview}
	}
	r.status.LastError = ""
	r.status.GatewayReference = result.GatewayReference
	if result.GatewayStatus != "" {
		r.status.GatewayStatus = result.GatewayStatus
	}
	if remediation.SettlementOf(result.GatewayStatus) == remediation.SettlementPending &&
		workflow.GetVersion(ctx, gatewaySettlement, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		// Asked only when the gateway said "not yet", so a refund it
		// settles at once has today's history. Before the change, any
		// answer it took was Completed.
		return submission{pending: true}
	}
	return submission{accepted: true}
}

// complete writes the success to Genesys and ends in Completed.
func (r *run) complete(ctx workflow.Context) {
	r.countCompleted(ctx)
	r.finish(ctx, remediation.StateCompleted, remediation.RefundStatusCompleted,
		fmt.Sprintf("**Completed**: gateway reference `%s`.", r.status.GatewayReference))
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

func formatAmount(minor int64, currency string) string {
	s, err := money.FormatMajor(minor, currency)
	if err != nil {
		return fmt.Sprintf("%d minor units of %s", minor, currency)
	}
	return s + " " + currency
}
