package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// apply checks one decision against the rules and carries it out.
func (r *run) apply(ctx workflow.Context, dec remediation.Decision) {
	rec := remediation.DecisionRecord{Decision: dec, ReceivedAt: now(ctx)}
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
	case r.disposition.AgentID != "" && strings.EqualFold(approverUser(dec.Approver), strings.TrimSpace(r.disposition.AgentID)):
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
		if s := r.submitAndSettle(ctx, action, amountMinor); !s.accepted {
			r.escalate(ctx, "approved by "+dec.Approver+", but the gateway failed again: "+s.failure, s.refundStatus)
			return
		}
		r.complete(ctx)
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
			Decision: dec, ReceivedAt: now(ctx), Outcome: outcome, Reason: reason,
		})
	}
}

// approverUser is the user an approver names: a decision made in Genesys
// names its user as genesys:<user id>, the id agentId holds.
func approverUser(approver string) string {
	return strings.TrimPrefix(strings.TrimSpace(approver), activities.GenesysApproverPrefix)
}
