package workflows

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// An approval after a failure completes the refund and closes the review's
// workitem, once, with who approved it and the gateway's reference.
func (s *WorkflowSuite) TestApprovalClosesTheWorkitem() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("no"), accepted("rf_7")}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Empty(out.WritebackErrors)
	s.Equal([]activities.WorkitemClosure{{
		TransactionID: "T-1001", WorkflowID: "default-test-workflow-id", WorkitemID: "wi-T-1001",
		State: remediation.StateCompleted, DecidedBy: "alice", DecisionID: "d1", DecidedAt: out.Decisions[0].ReceivedAt,
		GatewayReference: "rf_7",
	}}, s.calls.closures)
	s.NotEmpty(out.Decisions[0].ReceivedAt)
}

func (s *WorkflowSuite) TestRejectionClosesTheWorkitem() {
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "bob"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Require().Len(s.calls.closures, 1)
	c := s.calls.closures[0]
	s.Equal(remediation.StateRejected, c.State)
	s.Equal("wi-T-1001", c.WorkitemID)
	s.Equal("bob", c.DecidedBy)
	s.Empty(c.GatewayReference, "no money moved")
}

func (s *WorkflowSuite) TestResolvedByHandClosesTheWorkitem() {
	d := refund()
	d.DispositionCode, d.Action = "Escalation_Sent", remediation.ActionReview
	s.decide(time.Hour, remediation.Decision{DecisionID: "d9", Decision: "resolved", Approver: "carol"})
	s.start(d)

	out := s.outcome()
	s.Equal(remediation.StateResolvedManually, out.State)
	s.Require().Len(s.calls.closures, 1)
	s.Equal(remediation.StateResolvedManually, s.calls.closures[0].State)
	s.Equal("d9", s.calls.closures[0].DecisionID)
}

// Only the decision that ends the review closes it: an approval that fails
// again goes back to review with the workitem open, and the refused and
// late decisions around it are not the one named on it.
func (s *WorkflowSuite) TestOnlyTheEndingDecisionClosesTheWorkitem() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("no"), rejected("still no")}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: "agent-7"})
	s.decide(3*time.Hour, remediation.Decision{DecisionID: "d3", Decision: "reject", Approver: "bob"})
	s.decide(4*time.Hour, remediation.Decision{DecisionID: "d4", Decision: "approve", Approver: "dave"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Len(s.calls.escalations, 2, "the failed approval went back to review")
	s.Require().Len(s.calls.closures, 1)
	s.Equal("bob", s.calls.closures[0].DecidedBy)
	s.Equal("d3", s.calls.closures[0].DecisionID)
}

// The happy path never went to review: nothing to close, and no version
// marker, so its history stays as it was (18 events, 4 billable actions).
func (s *WorkflowSuite) TestHappyRefundClosesNothing() {
	asked := false
	s.env.OnGetVersion(closeReviewWorkitem, workflow.DefaultVersion, 1).Run(func(_ mock.Arguments) { asked = true }).Return(workflow.Version(1)).Maybe()
	s.gateway = append(s.gateway, accepted("rf_1"))
	s.start(refund())

	s.Equal(remediation.StateCompleted, s.outcome().State)
	s.Empty(s.calls.closures)
	s.False(asked, "the happy path must not ask for the close-workitem version")
}

// An email escalation has no workitem to close.
func (s *WorkflowSuite) TestEmailEscalationClosesNothing() {
	s.emailOnly = true
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "bob"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Equal("email", out.Escalation)
	s.Empty(out.WorkitemID)
	s.Empty(s.calls.closures)
}

// A workitem Genesys refuses to close is a write-back error: recorded, and
// the remediation still ends in its state.
func (s *WorkflowSuite) TestWorkitemThatCannotBeClosedIsRecorded() {
	s.closeErr = temporal.NewNonRetryableApplicationError("Genesys answered 400: status transition not allowed", string(activities.ErrGenesysRejected), nil)
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "bob"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Len(s.calls.closures, 1, "a final 4xx is not retried")
	s.Require().Len(out.WritebackErrors, 1)
	s.Contains(out.WritebackErrors[0], "closing Genesys workitem wi-T-1001 failed (GenesysRejected)")
	s.Contains(out.WritebackErrors[0], "status transition not allowed")
}

// Genesys down: the close is retried (per genesysOptions) until it gets
// through, and it is still called for once, as one activity.
func (s *WorkflowSuite) TestWorkitemCloseIsRetriedThroughAnOutage() {
	s.closeOutage = 3
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "bob"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Empty(out.WritebackErrors)
	s.Len(s.calls.closures, 4, "three 503s, then closed")
}

// Workflows that ended their review before the change replay without
// closing (the recorded histories hold such reviews).
func (s *WorkflowSuite) TestBeforeTheChangeAReviewEndsWithoutClosing() {
	s.env.OnGetVersion(closeReviewWorkitem, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "bob"})
	s.start(refund())

	s.Equal(remediation.StateRejected, s.outcome().State)
	s.Empty(s.calls.closures)
}

// A run continued as new closes the workitem an earlier run opened: its ID
// comes with the carried status.
func (s *WorkflowSuite) TestContinuedReviewClosesTheWorkitemOfAnEarlierRun() {
	s.gateway = append(s.gateway, accepted("rf_9"))
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: "bob"})
	s.startContinued(refund(), continuedReview())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Empty(s.calls.escalations)
	s.Require().Len(s.calls.closures, 1)
	c := s.calls.closures[0]
	s.Equal("wi-T-1001", c.WorkitemID)
	s.Equal("bob", c.DecidedBy, "the decision of this run, not the applied one carried over")
	s.Equal("rf_9", c.GatewayReference)
}
