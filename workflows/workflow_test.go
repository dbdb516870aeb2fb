package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// calls records what the workflow asked the activities to do, so tests assert
// on the calls made and not only on the end state.
type calls struct {
	mu          sync.Mutex
	submissions []activities.Submission
	updates     []activities.InteractionUpdate
	wrapups     []activities.FailedWrapup
	escalations []activities.Escalation
	reminders   []activities.Reminder
	closures    []activities.WorkitemClosure
	upserts     []string
	attrs       []temporal.SearchAttributes
}

func (c *calls) add(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

type WorkflowSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	calls *calls
	// gateway answers each submission in turn; the last answer repeats.
	gateway []func(activities.Submission) (activities.SubmissionResult, error)
	// escalate answers each escalation in turn; the last answer repeats.
	escalate []error
	// remindTakes is how long (workflow time) a reminder takes; remindErr
	// is what it answers then.
	remindTakes time.Duration
	remindErr   error
	// emailOnly escalates by email (no worktype): no workitem to close.
	emailOnly bool
	// closeErr is what closing the workitem answers, after closeOutage
	// attempts answered 503.
	closeErr    error
	closeOutage int
}

func TestWorkflowSuite(t *testing.T) {
	suite.Run(t, new(WorkflowSuite))
}

var testSettings = Settings{GatewayTimeout: 15 * time.Second, RetryWindow: 10 * time.Minute, ReviewReminder: 4 * time.Hour}

func (s *WorkflowSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.calls = &calls{}
	s.gateway = nil
	s.escalate = nil
	s.remindTakes, s.remindErr = 0, nil
	s.emailOnly, s.closeErr, s.closeOutage = false, nil, 0
	(&Remediation{Settings: testSettings}).Register(s.env)
	s.env.RegisterActivity(&activities.Activities{})

	submit := func(_ context.Context, sub activities.Submission) (activities.SubmissionResult, error) {
		var answer func(activities.Submission) (activities.SubmissionResult, error)
		s.calls.add(func() {
			i := len(s.calls.submissions)
			s.calls.submissions = append(s.calls.submissions, sub)
			if i >= len(s.gateway) {
				i = len(s.gateway) - 1
			}
			answer = s.gateway[i]
		})
		return answer(sub)
	}
	s.env.OnActivity(a.SubmitRefund, mock.Anything, mock.Anything).Return(submit).Maybe()
	s.env.OnActivity(a.SubmitChargeback, mock.Anything, mock.Anything).Return(submit).Maybe()
	s.env.OnActivity(a.UpdateInteraction, mock.Anything, mock.Anything).Return(func(_ context.Context, u activities.InteractionUpdate) error {
		s.calls.add(func() { s.calls.updates = append(s.calls.updates, u) })
		return nil
	}).Maybe()
	s.env.OnActivity(a.SetFailedWrapup, mock.Anything, mock.Anything).Return(func(_ context.Context, w activities.FailedWrapup) error {
		s.calls.add(func() { s.calls.wrapups = append(s.calls.wrapups, w) })
		return nil
	}).Maybe()
	s.env.OnActivity(a.EscalateToFinance, mock.Anything, mock.Anything).Return(func(_ context.Context, e activities.Escalation) (activities.EscalationResult, error) {
		var err error
		s.calls.add(func() {
			i := len(s.calls.escalations)
			s.calls.escalations = append(s.calls.escalations, e)
			if len(s.escalate) > 0 {
				err = s.escalate[min(i, len(s.escalate)-1)]
			}
		})
		if err != nil {
			return activities.EscalationResult{}, err
		}
		if s.emailOnly {
			return activities.EscalationResult{Channel: "email"}, nil
		}
		return activities.EscalationResult{Channel: "workitem", WorkitemID: "wi-" + e.TransactionID, Created: true}, nil
	}).Maybe()
	s.env.OnActivity(a.CloseWorkitem, mock.Anything, mock.Anything).Return(func(_ context.Context, c activities.WorkitemClosure) error {
		down := false
		s.calls.add(func() {
			s.calls.closures = append(s.calls.closures, c)
			if s.closeOutage > 0 {
				s.closeOutage--
				down = true
			}
		})
		if down {
			return temporal.NewApplicationError("Genesys answered 503", string(activities.ErrGenesysUnavailable))
		}
		return s.closeErr
	}).Maybe()
	s.env.OnActivity(a.RemindFinance, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.Reminder) error {
		s.calls.add(func() { s.calls.reminders = append(s.calls.reminders, r) })
		return s.remindErr
	}).AfterFn(func() time.Duration { return s.remindTakes }).Maybe()
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		attrs := args.Get(0).(temporal.SearchAttributes)
		s.calls.add(func() {
			s.calls.attrs = append(s.calls.attrs, attrs)
			if v, ok := attrs.GetKeyword(StateKey); ok {
				s.calls.upserts = append(s.calls.upserts, v)
			}
		})
	}).Return(nil).Maybe()
}

func (s *WorkflowSuite) AfterTest(_, _ string) {
	s.env.AssertExpectations(s.T())
}

func accepted(ref string) func(activities.Submission) (activities.SubmissionResult, error) {
	return func(activities.Submission) (activities.SubmissionResult, error) {
		return activities.SubmissionResult{GatewayReference: ref, HTTPStatus: 201}, nil
	}
}

func rejected(msg string) func(activities.Submission) (activities.SubmissionResult, error) {
	return func(activities.Submission) (activities.SubmissionResult, error) {
		return activities.SubmissionResult{}, temporal.NewNonRetryableApplicationError(msg, string(activities.ErrGatewayRejected), nil)
	}
}

func unavailable(activities.Submission) (activities.SubmissionResult, error) {
	return activities.SubmissionResult{}, temporal.NewApplicationError("gateway answered 503", string(activities.ErrGatewayUnavailable))
}

// unanswered is a call that went out and got no answer, as the activity
// reports it (after a timeout or a cut connection, in this attempt or an
// earlier one): the gateway may have made the refund.
func unanswered(errType activities.ErrorType, final bool) func(activities.Submission) (activities.SubmissionResult, error) {
	return func(activities.Submission) (activities.SubmissionResult, error) {
		return activities.SubmissionResult{}, temporal.NewApplicationErrorWithOptions("gateway did not answer within 15s after the request was sent", string(errType),
			temporal.ApplicationErrorOptions{NonRetryable: final, Details: []any{activities.SubmissionFailure{OutcomeUnknown: true}}})
	}
}

func refund() remediation.Disposition {
	return remediation.Disposition{
		TransactionID:   "T-1001",
		DispositionCode: "Refund_Processed",
		Action:          remediation.ActionRefund,
		CustomerTokenID: "tok_visa_1234",
		CustomerID:      "C-77",
		AmountText:      "49.99",
		AmountMinor:     4999,
		Currency:        "USD",
		ConversationID:  "conv-1",
		ParticipantID:   "part-1",
		CommunicationID: "comm-1",
		AgentID:         "agent-7",
		Timestamp:       "2026-11-25T10:00:00Z",
	}
}

// start runs the workflow with the search attributes the starter sets.
func (s *WorkflowSuite) start(d remediation.Disposition) {
	s.Require().NoError(s.env.SetTypedSearchAttributesOnStart(StartSearchAttributes(d)))
	s.env.ExecuteWorkflow(remediation.WorkflowType, d)
}

func (s *WorkflowSuite) outcome() remediation.Outcome {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var out remediation.Outcome
	s.Require().NoError(s.env.GetWorkflowResult(&out))
	return out
}

func (s *WorkflowSuite) status() remediation.Status {
	v, err := s.env.QueryWorkflow(remediation.StatusQuery)
	s.Require().NoError(err)
	var st remediation.Status
	s.Require().NoError(v.Get(&st))
	return st
}

// decide sends a decision after the given delay.
func (s *WorkflowSuite) decide(after time.Duration, d remediation.Decision) {
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(remediation.DecisionSignal, d) }, after)
}

func (s *WorkflowSuite) TestHappyRefund() {
	s.gateway = append(s.gateway, accepted("rf_1"))
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal("rf_1", out.GatewayReference)
	s.Equal(1, out.Attempts)
	s.Empty(out.LastError)
	s.Require().Len(s.calls.submissions, 1)
	sub := s.calls.submissions[0]
	s.Equal(activities.Submission{
		TransactionID: "T-1001", Action: remediation.ActionRefund, CustomerID: "C-77", CustomerTokenID: "tok_visa_1234",
		AmountMinor: 4999, Currency: "USD", DispositionCode: "Refund_Processed", IdempotencyKey: "T-1001:refund",
		Timestamp: "2026-11-25T10:00:00Z",
	}, sub)
	s.Equal([]activities.InteractionUpdate{{ConversationID: "conv-1", ParticipantID: "part-1", TransactionID: "T-1001",
		RefundStatus: remediation.RefundStatusCompleted, GatewayReference: "rf_1"}}, s.calls.updates)
	s.Empty(s.calls.escalations)
	s.Empty(s.calls.wrapups)
	// The starter set Submitting; the only upsert is the change to Completed.
	s.Equal([]string{"Completed"}, s.calls.upserts)
}

func (s *WorkflowSuite) TestChargeback() {
	d := refund()
	d.DispositionCode, d.Action = "Chargeback_Requested", remediation.ActionChargeback
	s.gateway = append(s.gateway, accepted("cb_9"))
	s.start(d)

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal("cb_9", out.GatewayReference)
	s.Require().Len(s.calls.submissions, 1)
	s.Equal(remediation.ActionChargeback, s.calls.submissions[0].Action)
	s.Equal("T-1001:chargeback", s.calls.submissions[0].IdempotencyKey)
	s.env.AssertActivityNumberOfCalls(s.T(), "SubmitChargeback", 1)
	s.env.AssertActivityNotCalled(s.T(), "SubmitRefund", mock.Anything, mock.Anything)
}

func (s *WorkflowSuite) TestReviewDispositionGoesStraightToFinance() {
	d := refund()
	d.DispositionCode, d.Action = "Escalation_Sent", remediation.ActionReview
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice", Note: "no grounds"})
	s.start(d)

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Empty(s.calls.submissions)
	s.Require().Len(s.calls.escalations, 1)
	s.Contains(s.calls.escalations[0].Reason, "finance review")
	s.Empty(s.calls.wrapups, "a review is not a failure: no failed wrap-up code")
	s.Equal("wi-T-1001", out.WorkitemID)
	// The starter started it as AwaitingReview, so the only upsert is Rejected.
	s.Equal([]string{"Rejected"}, s.calls.upserts)
	s.Require().Len(s.calls.updates, 1)
	s.Equal(remediation.RefundStatusRejected, s.calls.updates[0].RefundStatus)
}

func (s *WorkflowSuite) TestInvalidAmountGoesToReviewWithoutCallingTheGateway() {
	d := refund()
	d.AmountText, d.AmountMinor, d.AmountError = "0.00", 0, "amount zero: amount is zero"
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "resolved", Approver: "alice"})
	s.start(d)

	out := s.outcome()
	s.Equal(remediation.StateResolvedManually, out.State)
	s.Empty(s.calls.submissions, "a zero amount must never reach a gateway")
	s.Require().Len(s.calls.escalations, 1)
	s.Contains(s.calls.escalations[0].Reason, "amount is zero")
	s.Equal("0.00", s.calls.escalations[0].AmountText)
	s.Require().Len(s.calls.wrapups, 1)
	s.Equal("comm-1", s.calls.wrapups[0].CommunicationID)
	s.Equal([]string{remediation.RefundStatusFailedReview, remediation.RefundStatusResolvedManually}, refundStatuses(s.calls.updates))
}

func (s *WorkflowSuite) TestFinalRejectionGoesStraightToReview() {
	s.gateway = append(s.gateway, rejected("gateway answered 422: card expired"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Len(s.calls.submissions, 1, "a final 4xx is not retried")
	s.Contains(out.LastError, "GatewayRejected")
	s.Contains(out.LastError, "card expired")
	s.NotContains(out.LastError, "retry window", "a final answer is not retried")
	s.Len(s.calls.escalations, 1)
	s.Len(s.calls.wrapups, 1)
	s.Equal([]string{"AwaitingReview", "Rejected"}, s.calls.upserts)
}

func (s *WorkflowSuite) TestOutageRetriedUntilTheWindowEndsThenReview() {
	s.gateway = append(s.gateway, unavailable)
	var reviewStatus remediation.Status
	s.env.RegisterDelayedCallback(func() { reviewStatus = s.status() }, 30*time.Minute)
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	// Backoff 1s, 2s, 4s ... capped at 1m within a 10m window: several tries, bounded.
	s.Greater(len(s.calls.submissions), 5)
	s.Less(len(s.calls.submissions), 20)
	for _, sub := range s.calls.submissions {
		s.Equal("T-1001:refund", sub.IdempotencyKey, "every retry carries the same key")
	}
	s.Equal(remediation.StateAwaitingReview, reviewStatus.State)
	s.Contains(reviewStatus.LastError, "gateway refund failed after retrying for the whole retry window")
	s.NotContains(reviewStatus.LastError, "OUTCOME UNKNOWN", "every call was answered 503: nothing was made")
	s.Equal(1, reviewStatus.Attempts)
}

// A review reached after a call whose outcome is unknown says so first,
// wherever finance ops read it: the gateway may have made the refund.
func (s *WorkflowSuite) TestUnansweredCallIsFlaggedInTheReview() {
	for name, answer := range map[string]func(activities.Submission) (activities.SubmissionResult, error){
		// The activity's own timeout or a cut connection, every attempt.
		"unanswered": unanswered(activities.ErrGatewayUnavailable, false),
		// An unanswered call, then 503s to the end of the window: the
		// activity marks the last 503.
		"503 after an unanswered call": func(activities.Submission) (activities.SubmissionResult, error) {
			return activities.SubmissionResult{}, temporal.NewApplicationErrorWithOptions("gateway answered 503", string(activities.ErrGatewayUnavailable),
				temporal.ApplicationErrorOptions{Details: []any{activities.SubmissionFailure{OutcomeUnknown: true}}})
		},
		// Temporal cut the attempt off (start-to-close): no answer either.
		"attempt timed out": func(activities.Submission) (activities.SubmissionResult, error) {
			return activities.SubmissionResult{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)
		},
	} {
		s.Run(name, func() {
			s.SetupTest()
			s.gateway = append(s.gateway, answer)
			var review remediation.Status
			s.env.RegisterDelayedCallback(func() { review = s.status() }, 30*time.Minute)
			s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
			s.start(refund())

			s.Equal(remediation.StateRejected, s.outcome().State)
			s.Equal(remediation.StateAwaitingReview, review.State)
			const warning = "OUTCOME UNKNOWN: the refund may have been made (a gateway call timed out or was cut off mid-request); check with the gateway before deciding."
			s.True(strings.HasPrefix(review.LastError, warning), "status lastError: %s", review.LastError)
			s.Contains(review.LastError, "gateway refund failed after retrying for the whole retry window")
			s.Require().Len(s.calls.escalations, 1)
			s.True(strings.HasPrefix(s.calls.escalations[0].Reason, warning), "escalation reason: %s", s.calls.escalations[0].Reason)
			s.Require().Len(s.calls.wrapups, 1)
			s.Contains(s.calls.wrapups[0].Notes, warning)
		})
	}
}

// An approval does not make an earlier unanswered call unhappen: when the
// approved submission fails too, the review still carries the warning.
func (s *WorkflowSuite) TestUnknownOutcomeOutlivesAnApproval() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){
		unanswered(activities.ErrGatewayRejected, true), rejected("gateway answered 422: amount above the original charge"),
	}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice", RefundAmount: "39.50"})
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Require().Len(s.calls.submissions, 2)
	s.Require().Len(s.calls.escalations, 2)
	s.Contains(s.calls.escalations[1].Reason, "approved by alice, but the gateway failed again: OUTCOME UNKNOWN")
	s.Contains(s.calls.escalations[1].Reason, "amount above the original charge")
}

func (s *WorkflowSuite) TestApproveThenSuccessUsesTheSameKey() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("gateway answered 409: locked"), accepted("rf_2")}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice", Note: "retry now"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal("rf_2", out.GatewayReference)
	s.Equal(2, out.Attempts)
	s.Require().Len(s.calls.submissions, 2)
	s.Equal(s.calls.submissions[0].IdempotencyKey, s.calls.submissions[1].IdempotencyKey)
	s.Equal(int64(4999), s.calls.submissions[1].AmountMinor)
	s.Require().Len(out.Decisions, 1)
	s.Equal(remediation.OutcomeApplied, out.Decisions[0].Outcome)
	s.Equal([]string{"AwaitingReview", "Submitting", "Completed"}, s.calls.upserts)
	s.Equal([]string{remediation.RefundStatusFailedReview, remediation.RefundStatusCompleted}, refundStatuses(s.calls.updates))
	s.Equal("rf_2", s.calls.updates[1].GatewayReference)
}

func (s *WorkflowSuite) TestApproveWithCorrectedAmountUsesANewKey() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("amount above original charge"), accepted("rf_3")}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice", RefundAmount: "39.5"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Require().Len(s.calls.submissions, 2)
	s.Equal(int64(3950), s.calls.submissions[1].AmountMinor)
	s.Equal("T-1001:refund:3950", s.calls.submissions[1].IdempotencyKey)
	s.Equal(int64(3950), out.AmountMinor)
}

func (s *WorkflowSuite) TestApproveOfAnInvalidAmountNeedsACorrection() {
	d := refund()
	d.AmountText, d.AmountMinor, d.AmountError = "49.999", 0, "too many decimals"
	s.gateway = append(s.gateway, accepted("rf_4"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: "alice", RefundAmount: "49.99"})
	s.start(d)

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Require().Len(out.Decisions, 2)
	s.Equal(remediation.OutcomeRefused, out.Decisions[0].Outcome)
	s.Contains(out.Decisions[0].Reason, "refundAmount")
	s.Equal(remediation.OutcomeApplied, out.Decisions[1].Outcome)
	s.Require().Len(s.calls.submissions, 1)
	s.Equal("T-1001:refund:4999", s.calls.submissions[0].IdempotencyKey)
}

func (s *WorkflowSuite) TestResolvedByHand() {
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "resolved", Approver: "bob", Note: "refunded at the branch"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateResolvedManually, out.State)
	s.Equal("refunded at the branch", out.Decisions[0].Note)
	s.Equal([]string{remediation.RefundStatusFailedReview, remediation.RefundStatusResolvedManually}, refundStatuses(s.calls.updates))
}

func (s *WorkflowSuite) TestDuplicateDecisionIDIsIgnored() {
	// The approval fails again, so the same decisionId arrives in review again.
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("no"), rejected("still no")}
	approve := remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"}
	s.decide(time.Hour, approve)
	s.decide(2*time.Hour, approve)
	s.decide(3*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Len(s.calls.submissions, 2, "the repeated approval must not submit again")
	s.Equal([]string{remediation.OutcomeApplied, remediation.OutcomeDuplicate, remediation.OutcomeApplied}, decisionOutcomes(out))
	s.Len(s.calls.escalations, 2, "the failed approval is escalated again (same workitem)")
}

func (s *WorkflowSuite) TestApproverWhoIsTheAgentIsRefused() {
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){rejected("no"), accepted("rf_5")}
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "agent-7"})
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: ""})
	s.decide(3*time.Hour, remediation.Decision{DecisionID: "d3", Decision: "approve", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal([]string{remediation.OutcomeRefused, remediation.OutcomeRefused, remediation.OutcomeApplied}, decisionOutcomes(out))
	s.Contains(out.Decisions[0].Reason, "agent")
	s.Len(s.calls.submissions, 2)
}

func (s *WorkflowSuite) TestUnknownDecisionIsRefused() {
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "maybe", Approver: "alice"})
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
	s.start(refund())
	out := s.outcome()
	s.Equal([]string{remediation.OutcomeRefused, remediation.OutcomeApplied}, decisionOutcomes(out))
}

func (s *WorkflowSuite) TestDecisionWhileSubmittingIsRecordedNotApplied() {
	slow := func(activities.Submission) (activities.SubmissionResult, error) {
		return activities.SubmissionResult{}, temporal.NewApplicationError("slow 503", string(activities.ErrGatewayUnavailable))
	}
	s.gateway = []func(activities.Submission) (activities.SubmissionResult, error){slow, slow, accepted("rf_6")}
	s.decide(time.Second, remediation.Decision{DecisionID: "early", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateCompleted, out.State, "a reject sent while submitting must not stop the refund")
	s.Require().Len(out.Decisions, 1)
	s.Equal(remediation.OutcomeNotApplicable, out.Decisions[0].Outcome)
	s.Contains(out.Decisions[0].Reason, "submitted")
}

func (s *WorkflowSuite) TestDecisionsAfterTheEndAreRecorded() {
	s.gateway = append(s.gateway, rejected("no"))
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(remediation.DecisionSignal, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
		s.env.SignalWorkflow(remediation.DecisionSignal, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: "bob"})
	}, time.Hour)
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Equal([]string{remediation.OutcomeApplied, remediation.OutcomeNotApplicable}, decisionOutcomes(out))
	s.Len(s.calls.submissions, 1)
}

func (s *WorkflowSuite) TestRemindersWhileAwaitingReviewNeverApprove() {
	s.gateway = append(s.gateway, rejected("no"))
	s.decide(9*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Require().Len(s.calls.reminders, 2, "4h and 8h")
	s.Equal(1, s.calls.reminders[0].Count)
	s.Equal(2, s.calls.reminders[1].Count)
	s.Equal("wi-T-1001", s.calls.reminders[0].WorkitemID)
	s.Len(s.calls.submissions, 1, "time alone never approves")
}

// slowReminder makes the first reminder (due 4h into the review) take 30
// minutes of Genesys retries and sends a decision 10 minutes into it. It
// returns when the signal was sent and when the reminder started and was
// cancelled (zero when it was not).
func (s *WorkflowSuite) slowReminder(dec remediation.Decision) (signalled, started, cancelled *time.Time) {
	signalled, started, cancelled = new(time.Time), new(time.Time), new(time.Time)
	s.remindTakes = 30 * time.Minute
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "RemindFinance" && started.IsZero() {
			*started = s.env.Now()
		}
	})
	s.env.SetOnActivityCanceledListener(func(info *activity.Info) {
		if info.ActivityType.Name == "RemindFinance" {
			*cancelled = s.env.Now()
		}
	})
	s.env.RegisterDelayedCallback(func() {
		*signalled = s.env.Now()
		s.env.SignalWorkflow(remediation.DecisionSignal, dec)
	}, 4*time.Hour+10*time.Minute)
	return signalled, started, cancelled
}

// A decision that arrives while a reminder is still being delivered (Genesys
// slow or down, retried for up to an hour) is applied at once: the reminder
// runs beside the wait for decisions, not in front of it.
func (s *WorkflowSuite) TestDecisionDuringASlowReminderIsAppliedAtOnce() {
	s.gateway = append(s.gateway, rejected("no"))
	signalled, started, cancelled := s.slowReminder(remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.False(started.IsZero(), "the reminder ran")
	s.True(signalled.After(*started))
	s.Require().Len(out.Decisions, 1)
	s.Equal(signalled.UTC().Format(time.RFC3339), out.Decisions[0].ReceivedAt,
		"applied when it arrived, not when the reminder finished (%s)", started.Add(30*time.Minute).UTC().Format(time.RFC3339))
	s.Less(s.env.Now().Sub(*signalled), time.Minute, "the workflow ended with the decision, not with the reminder")
	s.Equal(*signalled, *cancelled, "the reminder for a review that was just decided is cancelled")
	s.Empty(s.calls.reminders, "the cancelled reminder never finished")
	s.Empty(out.WritebackErrors, "a reminder cancelled on purpose is not a failure")
	s.Equal([]string{remediation.RefundStatusFailedReview, remediation.RefundStatusRejected}, refundStatuses(s.calls.updates))
}

// Workflows that ran their reminders before the change replay down the old
// path, where the decision waits for the reminder (the recorded histories
// hold such reminders, see TestReplayRecordedHistories).
func (s *WorkflowSuite) TestBeforeNonBlockingRemindersADecisionWaitsForTheReminder() {
	s.env.OnGetVersion(nonBlockingReminder, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.gateway = append(s.gateway, rejected("no"))
	signalled, started, cancelled := s.slowReminder(remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Require().Len(out.Decisions, 1)
	s.True(signalled.Before(started.Add(30 * time.Minute)))
	s.Equal(started.Add(30*time.Minute).UTC().Format(time.RFC3339), out.Decisions[0].ReceivedAt)
	s.True(cancelled.IsZero())
	s.Len(s.calls.reminders, 1)
}

// A decision that is refused leaves the review open, and the reminder about
// it carries on; its failure is still recorded.
func (s *WorkflowSuite) TestRefusedDecisionDuringAReminderLetsItFinish() {
	s.gateway = append(s.gateway, rejected("no"))
	s.remindErr = temporal.NewNonRetryableApplicationError("workitem not found", string(activities.ErrGenesysRejected), nil)
	_, started, cancelled := s.slowReminder(remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "agent-7"})
	s.decide(5*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Equal([]string{remediation.OutcomeRefused, remediation.OutcomeApplied}, decisionOutcomes(out))
	s.True(cancelled.IsZero(), "a refused decision does not stop the reminder")
	s.Require().Len(s.calls.reminders, 1)
	s.Equal(1, s.calls.reminders[0].Count)
	s.Require().Len(out.WritebackErrors, 1)
	s.Contains(out.WritebackErrors[0], "reminder to finance ops failed")
	s.Contains(out.WritebackErrors[0], "workitem not found")
	s.False(started.IsZero())
}

// A reminder that falls due while the previous one is still being
// delivered is skipped, not stacked behind it.
func (s *WorkflowSuite) TestRemindersDoNotStack() {
	s.gateway = append(s.gateway, rejected("no"))
	s.remindTakes = 5 * time.Hour // longer than the 4h between reminders
	s.decide(13*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	// Due at 4h (runs to 9h), 8h (skipped), 12h (runs, cancelled at 13h).
	s.Require().Len(s.calls.reminders, 1)
	s.Equal(1, s.calls.reminders[0].Count)
	s.env.AssertActivityNumberOfCalls(s.T(), "RemindFinance", 2)
}

func (s *WorkflowSuite) TestFailedEscalationIsTriedAgainAtTheReminder() {
	s.gateway = append(s.gateway, rejected("no"))
	s.escalate = []error{temporal.NewNonRetryableApplicationError("worktype not found", string(activities.ErrGenesysRejected), nil), nil}
	var before remediation.Status
	s.env.RegisterDelayedCallback(func() { before = s.status() }, time.Hour)
	s.decide(5*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Empty(before.WorkitemID)
	s.Require().NotEmpty(before.WritebackErrors)
	s.Contains(before.WritebackErrors[0], "worktype not found")
	s.Len(s.calls.escalations, 2)
	s.Empty(s.calls.reminders, "the reminder slot was used to escalate again")
	s.Equal("wi-T-1001", out.WorkitemID)
}

func (s *WorkflowSuite) TestNoConversationMeansNoGenesysWriteBack() {
	d := refund()
	d.ConversationID, d.ParticipantID, d.CommunicationID = "", "", ""
	s.gateway = append(s.gateway, accepted("rf_7"))
	s.start(d)
	s.Equal(remediation.StateCompleted, s.outcome().State)
	s.Empty(s.calls.updates)
}

func (s *WorkflowSuite) TestStartedWithoutSearchAttributesGetsThem() {
	s.gateway = append(s.gateway, accepted("rf_8"))
	s.env.ExecuteWorkflow(remediation.WorkflowType, refund())
	s.Equal(remediation.StateCompleted, s.outcome().State)
	s.Require().Len(s.calls.attrs, 2)
	id, _ := s.calls.attrs[0].GetKeyword(TransactionIDKey)
	s.Equal("T-1001", id)
	s.Equal([]string{"Submitting", "Completed"}, s.calls.upserts)
}

func refundStatuses(us []activities.InteractionUpdate) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.RefundStatus
	}
	return out
}

func decisionOutcomes(st remediation.Status) []string {
	out := make([]string, len(st.Decisions))
	for i, d := range st.Decisions {
		out[i] = d.Outcome
	}
	return out
}
