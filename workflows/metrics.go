package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/metricnames"
	"github.com/refundflow/refundflow/internal/remediation"
)

// The workflow's own metrics go through workflow.GetMetricsHandler: it adds
// no command to the history and records nothing while a history replays,
// so each real event counts once (at least once: a workflow task that fails
// after recording and is tried again records again). Labels are bounded
// sets; never a transaction ID, a customer or an amount.

func actionTags(action remediation.Action, extra ...string) map[string]string {
	tags := map[string]string{metricnames.LabelAction: string(action)}
	for i := 0; i+1 < len(extra); i += 2 {
		tags[extra[i]] = extra[i+1]
	}
	return tags
}

// countSubmitted adds one submission's amount to the money sent to the
// gateway.
func (r *run) countSubmitted(ctx workflow.Context, action remediation.Action, amountMinor int64) {
	workflow.GetMetricsHandler(ctx).WithTags(actionTags(action, metricnames.LabelCurrency, r.disposition.Currency)).
		Counter(metricnames.SubmittedMinor).Inc(amountMinor)
}

// countCompleted adds the refunded amount, and the time since the webhook
// started the workflow. A run continued as new or reopened started later
// than the webhook, so it records the money but not the time.
func (r *run) countCompleted(ctx workflow.Context) {
	h := workflow.GetMetricsHandler(ctx)
	action := r.status.Action
	if action == remediation.ActionReview {
		action = remediation.ActionRefund // an approved review is a refund (apply)
	}
	h.WithTags(actionTags(action, metricnames.LabelCurrency, r.disposition.Currency)).
		Counter(metricnames.RefundedMinor).Inc(r.status.AmountMinor)
	if r.continued || r.reopened {
		return
	}
	path := metricnames.PathDirect
	if !r.carried.ReviewSince.IsZero() {
		path = metricnames.PathAfterReview
	}
	elapsed := workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime)
	h.WithTags(actionTags(action, metricnames.LabelPath, path)).Timer(metricnames.WebhookToCompleted).Record(elapsed)
}

// countReviewOpened counts a transition into AwaitingReview.
func (r *run) countReviewOpened(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).WithTags(actionTags(r.disposition.Action)).Counter(metricnames.ReviewsOpened).Inc(1)
}

// countEscalationUndelivered counts an escalation that failed after its
// retries: finance ops do not know of the review until a reminder gets
// through.
func (r *run) countEscalationUndelivered(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).WithTags(actionTags(r.disposition.Action)).Counter(metricnames.EscalationsUndelivered).Inc(1)
}

// countEnded counts the remediation's end in its final state.
func (r *run) countEnded(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).WithTags(actionTags(r.disposition.Action, metricnames.LabelOutcome, string(r.status.State))).
		Counter(metricnames.RemediationsEnded).Inc(1)
}
