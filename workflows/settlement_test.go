package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

func pending(ref string) func(activities.Submission) (activities.SubmissionResult, error) {
	return func(activities.Submission) (activities.SubmissionResult, error) {
		return activities.SubmissionResult{GatewayReference: ref, HTTPStatus: 200, GatewayStatus: "pending"}, nil
	}
}

// polls answers the settlement polls in turn (the last repeats) and
// records when each was asked.
func (s *WorkflowSuite) polls(answers ...string) *[]time.Time {
	var asked []time.Time
	s.env.OnActivity(a.CheckSettlement, mock.Anything, mock.Anything).Return(func(ctx context.Context, c activities.SettlementCheck) (remediation.GatewayEvent, error) {
		s.calls.add(func() { asked = append(asked, s.env.Now()) })
		status := answers[min(c.Poll-1, len(answers)-1)]
		return remediation.GatewayEvent{EventID: fmt.Sprintf("poll:%d", c.Poll), Gateway: "stripe", GatewayReference: c.GatewayReference, Status: status}, nil
	}).Maybe()
	return &asked
}

func (s *WorkflowSuite) gatewayEvent(after time.Duration, ev remediation.GatewayEvent) {
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(remediation.GatewayEventSignal, ev) }, after)
}

func (s *WorkflowSuite) refundStatuses() []string {
	var out []string
	for _, u := range s.calls.updates {
		out = append(out, u.RefundStatus)
	}
	return out
}

// A pending refund is AwaitingGateway until the webhook says succeeded;
// Genesys hears Refund_Pending once, then Completed. A pending event after
// the final one changes nothing, a repeated one is ignored.
func (s *WorkflowSuite) TestPendingRefundCompletesOnTheWebhook() {
	s.gateway = append(s.gateway, pending("re_1"))
	s.polls("pending")
	var during remediation.Status
	s.env.RegisterDelayedCallback(func() { during = s.status() }, 30*time.Minute)
	s.gatewayEvent(2*time.Hour, remediation.GatewayEvent{EventID: "evt_1", GatewayReference: "re_1", Status: "succeeded", OccurredAt: "2026-11-25T12:00:00Z"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateAwaitingGateway, during.State)
	s.Equal("pending", during.GatewayStatus)
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal("succeeded", out.GatewayStatus)
	s.Equal([]string{remediation.RefundStatusPending, remediation.RefundStatusCompleted}, s.refundStatuses())
	s.Contains(s.calls.upserts, string(remediation.StateAwaitingGateway))
}

// A lost webhook strands nothing: the polls back off (1m, 2m, 4m, ...) and
// the one that says succeeded completes the refund.
func (s *WorkflowSuite) TestPendingRefundCompletesByPollWithBackoff() {
	s.gateway = append(s.gateway, pending("re_1"))
	asked := s.polls("pending", "pending", "pending", "succeeded")
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Require().Len(*asked, 4)
	for i := 1; i < len(*asked); i++ {
		gap := (*asked)[i].Sub((*asked)[i-1])
		s.Equal(time.Minute<<i, gap, "poll %d waits twice the one before", i+1)
	}
}

// A final failure after pending goes to review with the gateway's reason;
// the approval submits a new refund under a renewed Idempotency-Key.
func (s *WorkflowSuite) TestPendingThenFailedGoesToReviewAndApprovalRenewsTheKey() {
	s.gateway = append(s.gateway, pending("re_1"), accepted("re_2"))
	s.polls("pending")
	s.gatewayEvent(time.Hour, remediation.GatewayEvent{EventID: "evt_f", GatewayReference: "re_1", Status: "failed", Reason: "expired_or_canceled_card"})
	s.decide(3*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Require().Len(s.calls.submissions, 2)
	s.Equal("T-1001:refund", s.calls.submissions[0].IdempotencyKey)
	s.Equal("T-1001:refund:r2", s.calls.submissions[1].IdempotencyKey)
	s.Require().NotEmpty(s.calls.escalations)
	s.Contains(s.calls.escalations[0].Reason, "expired_or_canceled_card")
	s.Equal([]string{remediation.RefundStatusPending, remediation.RefundStatusFailedReview, remediation.RefundStatusCompleted}, s.refundStatuses())
}

// No final word by the settlement timeout: review, and Genesys told.
func (s *WorkflowSuite) TestPendingPastTheSettlementTimeoutGoesToReview() {
	s.gateway = append(s.gateway, pending("re_1"))
	s.polls("pending")
	s.decide(60*24*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "resolved", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateResolvedManually, out.State)
	s.Require().Len(s.calls.escalations, 1)
	s.Contains(s.calls.escalations[0].Reason, "no final word")
}

// A decision while the gateway settles is recorded, not applied.
func (s *WorkflowSuite) TestDecisionWhileAwaitingGatewayIsRecorded() {
	s.gateway = append(s.gateway, pending("re_1"))
	s.polls("pending")
	s.decide(time.Minute/2, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.gatewayEvent(time.Hour, remediation.GatewayEvent{EventID: "evt_1", GatewayReference: "re_1", Status: "succeeded"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal([]string{remediation.OutcomeNotApplicable}, decisionOutcomes(out))
}

// Events for another refund, repeated or older ones change nothing.
func (s *WorkflowSuite) TestStaleAndForeignGatewayEventsChangeNothing() {
	s.gateway = append(s.gateway, pending("re_1"))
	s.polls("pending")
	s.gatewayEvent(time.Minute/2, remediation.GatewayEvent{EventID: "evt_x", GatewayReference: "re_other", Status: "failed"})
	s.gatewayEvent(time.Minute/2+time.Second, remediation.GatewayEvent{EventID: "evt_2", GatewayReference: "re_1", Status: "pending", OccurredAt: "2026-11-25T12:00:00Z"})
	s.gatewayEvent(time.Minute/2+2*time.Second, remediation.GatewayEvent{EventID: "evt_1", GatewayReference: "re_1", Status: "failed", OccurredAt: "2026-11-25T11:00:00Z"})
	s.gatewayEvent(time.Hour, remediation.GatewayEvent{EventID: "evt_3", GatewayReference: "re_1", Status: "succeeded", OccurredAt: "2026-11-25T13:00:00Z"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Empty(s.calls.escalations)
}

// A reversal after Completed starts a run with the outcome and the event:
// back in review, Genesys told Refund_Reversed_Manual_Review, the workitem
// reopened, and an approval refunds under a renewed key.
func (s *WorkflowSuite) TestReversalAfterCompletedReopensTheReview() {
	s.gateway = append(s.gateway, accepted("re_2"))
	done := remediation.Status{
		State: remediation.StateCompleted, Action: remediation.ActionRefund, TransactionID: "T-1001",
		AmountMinor: 4999, Currency: "USD", Attempts: 1, GatewayReference: "re_1", GatewayStatus: "succeeded",
		WorkitemID: "wi-old", Escalation: "workitem", Decisions: []remediation.DecisionRecord{},
	}
	ev := remediation.GatewayEvent{EventID: "evt_r", Gateway: "stripe", GatewayReference: "re_1", Status: "reversed", Reason: "bank returned the funds"}
	c := ContinuedReview{Status: done, RefundStatus: remediation.RefundStatusCompleted, Reopened: &ev}
	var during remediation.Status
	// The gateway's redelivered "succeeded" of the reversed refund comes
	// late: it must not hide the reversal.
	s.gatewayEvent(30*time.Second, remediation.GatewayEvent{EventID: "evt_s", GatewayReference: "re_1", Status: "succeeded"})
	s.env.RegisterDelayedCallback(func() { during = s.status() }, time.Minute)
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.startContinued(refund(), c)

	out := s.outcome()
	s.Equal(remediation.StateAwaitingReview, during.State)
	s.Equal("reversed", during.GatewayStatus)
	s.Contains(during.LastError, "bank returned the funds")
	s.Equal(remediation.StateCompleted, out.State)
	s.Require().Len(s.calls.escalations, 1)
	s.True(s.calls.escalations[0].Reopen, "the closed workitem is opened again")
	s.Require().Len(s.calls.submissions, 1)
	s.Equal("T-1001:refund:r2", s.calls.submissions[0].IdempotencyKey)
	s.Equal([]string{remediation.RefundStatusReversedReview, remediation.RefundStatusCompleted}, s.refundStatuses())
}
