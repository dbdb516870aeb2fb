package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// reviewStart is when the review tests start (and, for a refund the
// gateway refuses at once, when the review begins).
var reviewStart = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// continuedAsNew returns what the run handed to the next one, failing the
// test when the run did not continue as new.
func (s *WorkflowSuite) continuedAsNew() (remediation.Disposition, ContinuedReview) {
	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	s.Require().True(errors.As(err, &can), "want the run to continue as new, got error %v", err)
	s.Equal(remediation.WorkflowType, can.WorkflowType.Name)
	var d remediation.Disposition
	var c *ContinuedReview
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &d, &c))
	s.Require().NotNil(c, "the next run must get the review so far")
	return d, *c
}

// outgrowAt makes the run's history reach the limit at the given time;
// the workflow notices at its next event.
func (s *WorkflowSuite) outgrowAt(after time.Duration) {
	s.env.RegisterDelayedCallback(func() { s.env.SetCurrentHistoryLength(reviewHistoryLimit) }, after)
}

// A review left open for days goes on in a new run once its history
// reaches the limit, with everything the next run needs.
func (s *WorkflowSuite) TestLongReviewContinuesAsNew() {
	s.env.SetStartTime(reviewStart)
	s.gateway = append(s.gateway, rejected("gateway answered 422: card expired"))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "agent-7"})
	var before remediation.Status
	s.env.RegisterDelayedCallback(func() { before = s.status() }, 11*time.Hour)
	s.outgrowAt(9 * time.Hour)
	// Without continue-as-new this ends the review instead.
	s.decide(30*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
	s.start(refund())

	d, c := s.continuedAsNew()
	s.Equal(refund(), d, "the same disposition, so the next run keeps its idempotency keys and four-eyes rule")
	s.Equal(before, c.Status, "the status query answers the same in the next run")
	s.Equal(remediation.StateAwaitingReview, c.Status.State)
	s.Equal(1, c.Status.Attempts)
	s.Contains(c.Status.LastError, "card expired")
	s.Equal("wi-T-1001", c.Status.WorkitemID)
	s.Equal([]string{remediation.OutcomeRefused}, decisionOutcomes(c.Status))
	s.Equal(remediation.RefundStatusFailedReview, c.RefundStatus)
	s.Equal(activities.ChannelWorkitem, c.Status.Escalation, "finance ops have it: no escalation again")
	s.Equal(reviewStart, c.ReviewSince.UTC())
	s.Contains(c.ReviewReason, "card expired")
	s.False(c.OutcomeUnknown)
	// The limit was met at 9h and noticed at the 12h reminder, which went
	// out first; the next, #4, is due at 16h.
	s.Require().Len(s.calls.reminders, 3)
	s.Equal(4, c.Reminders)
	s.Equal(reviewStart.Add(16*time.Hour), c.NextReminder.UTC())
	s.Equal(reviewStart.Add(12*time.Hour), s.env.Now().UTC())
	s.Len(s.calls.submissions, 1)
	s.Len(s.calls.escalations, 1)
}

// The warning that the gateway may have made the refund goes along.
func (s *WorkflowSuite) TestContinuedReviewKeepsAnUnknownOutcome() {
	s.gateway = append(s.gateway, unanswered(activities.ErrGatewayRejected, true))
	s.outgrowAt(time.Hour)
	s.decide(30*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	_, c := s.continuedAsNew()
	s.True(c.OutcomeUnknown)
	s.Contains(c.Status.LastError, "OUTCOME UNKNOWN")
}

// continuedReview is a review as a previous run hands it over: an approval
// that failed again (d1 applied), a refused decision, reminder #4 due an
// hour into the new run.
func continuedReview() ContinuedReview {
	return ContinuedReview{
		Status: remediation.Status{
			State: remediation.StateAwaitingReview, Action: remediation.ActionRefund, TransactionID: "T-1001",
			AmountMinor: 4999, Currency: "USD", Attempts: 2, LastError: "gateway refund failed (GatewayRejected): locked",
			WorkitemID: "wi-T-1001", Escalation: "workitem",
			Decisions: []remediation.DecisionRecord{
				{Decision: remediation.Decision{DecisionID: "d0", Decision: "approve", Approver: "agent-7"}, ReceivedAt: "2026-11-25T11:00:00Z",
					Outcome: remediation.OutcomeRefused, Reason: "the approver is the agent who took the call (four-eyes rule)"},
				{Decision: remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"}, ReceivedAt: "2026-11-25T12:00:00Z",
					Outcome: remediation.OutcomeApplied},
			},
			WritebackErrors: []string{"Genesys wrap-up code failed (GenesysRejected): after-call work has ended"},
		},
		RefundStatus: remediation.RefundStatusFailedReview,
		ReviewSince:  time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		ReviewReason: "approved by alice, but the gateway failed again: gateway refund failed (GatewayRejected): locked",
		Reminders:    4,
		NextReminder: reviewStart.Add(time.Hour),
	}
}

// startContinued starts a run the way a continue-as-new does: the same
// search attributes (the SDK carries them), the disposition and the review.
func (s *WorkflowSuite) startContinued(d remediation.Disposition, c ContinuedReview) {
	s.env.SetStartTime(reviewStart)
	s.Require().NoError(s.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		append(startAttributeUpdates(d), StateKey.ValueSet(string(c.Status.State)))...)))
	s.env.ExecuteWorkflow(remediation.WorkflowType, d, &c)
}

// The new run goes straight back to waiting: no submission, no write-back,
// no escalation until a decision; it keeps reminding on schedule, knows the
// decisionIds already applied, and an approval completes it.
func (s *WorkflowSuite) TestContinuedReviewCompletesOnApprovalWithoutRepeatingWork() {
	s.gateway = append(s.gateway, accepted("rf_9"))
	c := continuedReview()
	var waiting remediation.Status
	s.env.RegisterDelayedCallback(func() { waiting = s.status() }, 30*time.Minute)
	s.decide(2*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"})
	s.decide(3*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: "bob", Note: "go"})
	s.startContinued(refund(), c)

	out := s.outcome()
	s.Equal(c.Status, waiting, "the status query answers in the new run what it did in the last")
	s.Equal(remediation.StateCompleted, out.State)
	s.Equal("rf_9", out.GatewayReference)
	s.Equal(3, out.Attempts, "two before, the approval now")
	s.Require().Len(s.calls.submissions, 1, "only the approval submits")
	s.Equal("T-1001:refund", s.calls.submissions[0].IdempotencyKey)
	s.Empty(s.calls.escalations, "finance ops were told in the first run")
	s.Empty(s.calls.wrapups, "the failure was written back in the first run")
	s.Equal([]string{remediation.RefundStatusCompleted}, refundStatuses(s.calls.updates))
	s.Equal([]string{remediation.OutcomeRefused, remediation.OutcomeApplied, remediation.OutcomeDuplicate, remediation.OutcomeApplied}, decisionOutcomes(out))
	s.Equal(c.Status.WritebackErrors, out.WritebackErrors)
	// Reminder #4 went out when it was due, an hour in; #5 (due 5h in) is
	// cancelled by the approval.
	s.Require().Len(s.calls.reminders, 1)
	s.Equal(4, s.calls.reminders[0].Count)
	s.Equal("wi-T-1001", s.calls.reminders[0].WorkitemID)
	s.Equal("2026-11-25T10:00:00Z", s.calls.reminders[0].WaitingSince)
	s.Equal([]string{"Submitting", "Completed"}, s.calls.upserts)
}

// A run handed a long review hands on a bounded one: every applied
// decision, the newest of the rest, and the count of what stayed behind,
// which adds up across runs and is told in the UI.
func (s *WorkflowSuite) TestContinuedReviewHandsOnABoundedStatus() {
	c := continuedReview()
	c.LeftBehind = 7
	for i := range carriedDecisionRecords + 50 {
		c.Status.Decisions = append(c.Status.Decisions, remediation.DecisionRecord{
			Decision: remediation.Decision{DecisionID: fmt.Sprintf("r%d", i), Decision: "approve", Approver: "agent-7"},
			Outcome:  remediation.OutcomeRefused, Reason: "the approver is the agent who took the call (four-eyes rule)",
		})
	}
	var details string
	s.env.RegisterDelayedCallback(func() { details = s.currentDetails() }, 30*time.Minute)
	s.outgrowAt(2 * time.Hour)
	s.startContinued(refund(), c)

	_, next := s.continuedAsNew()
	s.Equal(7+51, next.LeftBehind, "the 7 from before, d0 and the 50 oldest refusals")
	s.Len(next.Status.Decisions, carriedDecisionRecords+1)
	s.Equal("d1", next.Status.Decisions[0].DecisionID, "the applied decision stays, so a resend is a duplicate")
	s.Equal(fmt.Sprintf("r%d", carriedDecisionRecords+49), next.Status.Decisions[carriedDecisionRecords].DecisionID)
	s.Contains(details, "7 older decision records or write-back errors are only in earlier runs")
}

// A run handed a review without a pending reminder (it had just gone out)
// schedules the next a full interval away; a failed escalation is tried
// again at it.
func (s *WorkflowSuite) TestContinuedReviewRetriesAnEscalationThatDidNotGetThrough() {
	c := continuedReview()
	c.Status.WorkitemID, c.Status.Escalation = "", ""
	c.NextReminder = time.Time{}
	s.decide(5*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "bob"})
	s.startContinued(refund(), c)

	out := s.outcome()
	s.Equal(remediation.StateRejected, out.State)
	s.Require().Len(s.calls.escalations, 1, "tried again at the reminder")
	s.Equal(c.ReviewReason, s.calls.escalations[0].Reason)
	s.Equal("wi-T-1001", out.WorkitemID)
	s.Empty(s.calls.submissions)
}

// Decisions that arrive together in the workflow task that meets the limit
// (the first wakes the wait, the second is still in the channel when the
// run would continue) are both applied before the run continues: one that
// ends the review ends it, one that is refused is in the status the next
// run starts from.
func (s *WorkflowSuite) TestDecisionJustBeforeContinuingIsNotLost() {
	refusedFirst := remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "agent-7"}
	s.Run("a rejection ends the review", func() {
		s.SetupTest()
		s.gateway = append(s.gateway, rejected("no"))
		s.env.RegisterDelayedCallback(func() {
			s.env.SetCurrentHistoryLength(reviewHistoryLimit)
			s.env.SignalWorkflowSkippingWorkflowTask(remediation.DecisionSignal, refusedFirst)
			s.env.SignalWorkflow(remediation.DecisionSignal, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
		}, time.Hour)
		s.start(refund())

		out := s.outcome()
		s.Equal(remediation.StateRejected, out.State)
		s.Equal([]string{remediation.OutcomeRefused, remediation.OutcomeApplied}, decisionOutcomes(out))
	})
	s.Run("a refused decision goes along", func() {
		s.SetupTest()
		s.gateway = append(s.gateway, rejected("no"))
		s.env.RegisterDelayedCallback(func() {
			s.env.SetContinueAsNewSuggested(true)
			s.env.SignalWorkflowSkippingWorkflowTask(remediation.DecisionSignal, refusedFirst)
			s.env.SignalWorkflow(remediation.DecisionSignal, remediation.Decision{DecisionID: "d2", Decision: "approve", Approver: ""})
		}, time.Hour)
		s.decide(30*time.Hour, remediation.Decision{DecisionID: "d3", Decision: "reject", Approver: "alice"})
		s.start(refund())

		_, c := s.continuedAsNew()
		s.Equal([]string{remediation.OutcomeRefused, remediation.OutcomeRefused}, decisionOutcomes(c.Status))
		s.Equal("d2", c.Status.Decisions[1].DecisionID)
	})
}

// A reminder still being delivered is waited for, and its failure
// recorded, before the run continues.
func (s *WorkflowSuite) TestContinuesOnlyAfterTheReminderInFlight() {
	s.gateway = append(s.gateway, rejected("no"))
	s.remindTakes = 20 * time.Minute
	s.remindErr = temporal.NewNonRetryableApplicationError("workitem not found", string(activities.ErrGenesysRejected), nil)
	s.env.SetStartTime(reviewStart)
	s.env.RegisterDelayedCallback(func() { s.env.SetContinueAsNewSuggested(true) }, 4*time.Hour+time.Minute)
	// Wakes the workflow while the reminder is still being delivered.
	s.decide(4*time.Hour+5*time.Minute, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "agent-7"})
	s.decide(30*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "reject", Approver: "alice"})
	s.start(refund())

	_, c := s.continuedAsNew()
	s.Equal(reviewStart.Add(4*time.Hour+20*time.Minute), s.env.Now().UTC())
	s.Equal([]string{remediation.OutcomeRefused}, decisionOutcomes(c.Status))
	s.Require().Len(c.Status.WritebackErrors, 1)
	s.Contains(c.Status.WritebackErrors[0], "workitem not found")
	s.Equal(2, c.Reminders)
	s.Equal(reviewStart.Add(8*time.Hour), c.NextReminder.UTC())
}

// Workflows in flight before the change that had already met the limit
// replay down the old path and keep waiting, as their histories show...
func (s *WorkflowSuite) TestBeforeContinueAsNewAReviewStaysInOneRun() {
	s.env.OnGetVersion(continueAsNewReview, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	for n := 1; n <= 3; n++ {
		s.env.OnGetVersion(lateContinueCheck(n), workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	s.gateway = append(s.gateway, rejected("no"))
	s.outgrowAt(time.Hour)
	s.decide(13*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	s.Equal(remediation.StateRejected, s.outcome().State)
	s.Len(s.calls.reminders, 3)
}

// ...and the first check made after the deploy continues, so such a review
// does not run on toward Temporal's 51,200-event termination.
func (s *WorkflowSuite) TestAReviewPastTheLimitBeforeContinueAsNewContinuesAfterTheDeploy() {
	s.env.OnGetVersion(continueAsNewReview, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(lateContinueCheck(1), workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.gateway = append(s.gateway, rejected("no"))
	s.outgrowAt(time.Hour)
	s.decide(30*time.Hour, remediation.Decision{DecisionID: "d1", Decision: "reject", Approver: "alice"})
	s.start(refund())

	_, c := s.continuedAsNew()
	s.Equal(remediation.StateAwaitingReview, c.Status.State)
	s.Len(s.calls.reminders, 2, "replayed at the first reminder, live at the second")
}

// The status query answers in the new run exactly what it answered when
// the last run ended: finance ops and the starter's GET see no seam.
func (s *WorkflowSuite) TestStatusQueryAnswersTheSameInTheContinuedRun() {
	s.env.SetStartTime(reviewStart)
	s.gateway = append(s.gateway, unanswered(activities.ErrGatewayUnavailable, false))
	s.decide(time.Hour, remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "agent-7", Note: "mine"})
	s.env.RegisterDelayedCallback(func() { s.env.SetContinueAsNewSuggested(true) }, 2*time.Hour)
	s.decide(3*time.Hour, remediation.Decision{DecisionID: "d2", Decision: "maybe", Approver: "alice"})
	s.start(refund())
	d, c := s.continuedAsNew()
	last := s.status()
	s.Equal(remediation.StateAwaitingReview, last.State)
	s.Len(last.Decisions, 2)

	s.SetupTest()
	var first remediation.Status
	s.env.RegisterDelayedCallback(func() { first = s.status() }, time.Minute)
	s.decide(time.Hour, remediation.Decision{DecisionID: "d3", Decision: "reject", Approver: "alice"})
	s.startContinued(d, c)

	out := s.outcome()
	s.Equal(last, first)
	s.Equal(remediation.StateRejected, out.State)
	s.Empty(s.calls.submissions)
	s.Equal([]string{remediation.RefundStatusRejected}, refundStatuses(s.calls.updates))
}

// A stream of refused or duplicate decisions, or weeks of failing
// reminders, must not grow what each run hands on until Temporal refuses
// the continue-as-new (2 MB) and terminates the review.
func TestCarriedStatusIsBoundedAndKeepsEveryAppliedDecision(t *testing.T) {
	note := strings.Repeat("n", 2000)
	var s remediation.Status
	for i := range 5000 {
		outcome := remediation.OutcomeRefused
		if i%1000 == 0 {
			outcome = remediation.OutcomeApplied
		}
		s.Decisions = append(s.Decisions, remediation.DecisionRecord{
			Decision: remediation.Decision{DecisionID: fmt.Sprintf("d%d", i), Decision: "approve", Note: note},
			Outcome:  outcome,
		})
	}
	for i := range 500 {
		s.WritebackErrors = append(s.WritebackErrors, fmt.Sprintf("reminder %d failed: %s", i, strings.Repeat("e", 400)))
	}
	carried, left := carriedStatus(s)

	var applied []string
	for _, rec := range carried.Decisions {
		if rec.Outcome == remediation.OutcomeApplied {
			applied = append(applied, rec.DecisionID)
		}
	}
	if want := []string{"d0", "d1000", "d2000", "d3000", "d4000"}; !slices.Equal(applied, want) {
		t.Errorf("applied decisions carried = %v; want every one, %v", applied, want)
	}
	if n := len(carried.Decisions); n != carriedDecisionRecords+5 {
		t.Errorf("%d decision records carried; want %d", n, carriedDecisionRecords+5)
	}
	if last := carried.Decisions[len(carried.Decisions)-1].DecisionID; last != "d4999" {
		t.Errorf("last carried record %s; want the newest, d4999", last)
	}
	if n := len(carried.WritebackErrors); n != carriedWritebackErrors || !strings.HasPrefix(carried.WritebackErrors[n-1], "reminder 499 ") {
		t.Errorf("write-back errors carried: %d, last %.20q; want the newest %d", n, carried.WritebackErrors[n-1], carriedWritebackErrors)
	}
	if want := (5000 - 5 - carriedDecisionRecords) + (500 - carriedWritebackErrors); left != want {
		t.Errorf("left behind %d; want %d", left, want)
	}
	input, err := json.Marshal(ContinuedReview{Status: carried})
	if err != nil {
		t.Fatal(err)
	}
	if len(input) > 512<<10 {
		t.Errorf("continue-as-new input is %d bytes; want well under Temporal's 2 MB limit", len(input))
	}
	if len(s.Decisions) != 5000 || len(s.WritebackErrors) != 500 {
		t.Error("carriedStatus changed the run's own status")
	}

	// Nothing to trim: handed on as it is.
	small := remediation.Status{Decisions: s.Decisions[:3], WritebackErrors: s.WritebackErrors[:2]}
	if got, left := carriedStatus(small); left != 0 || len(got.Decisions) != 3 || len(got.WritebackErrors) != 2 {
		t.Errorf("small status trimmed: %d records, %d errors, %d left", len(got.Decisions), len(got.WritebackErrors), left)
	}
}

// currentDetails is what the Temporal UI shows as the workflow's current
// details.
func (s *WorkflowSuite) currentDetails() string {
	v, err := s.env.QueryWorkflow("__temporal_workflow_metadata")
	s.Require().NoError(err)
	var md sdkpb.WorkflowMetadata
	s.Require().NoError(v.Get(&md))
	return md.GetCurrentDetails()
}

// A continue-as-new input written before escalated became derived (it
// carried "escalated") still decodes to the same review: runs in flight
// continue across the deploy.
func TestContinuedReviewDecodesTheOlderInput(t *testing.T) {
	t.Parallel()
	old := `{"status":{"state":"AwaitingReview","action":"refund","transactionId":"T-1001","amountMinor":4999,"currency":"USD",` +
		`"attempts":1,"escalation":"workitem","workitemId":"wi-T-1001","decisions":[]},` +
		`"refundStatus":"Refund_Failed_Manual_Review","escalated":true,"reviewSince":"2026-11-25T10:00:00Z",` +
		`"reviewReason":"card expired","reminders":3,"nextReminder":"2026-11-25T22:00:00Z","outcomeUnknown":true,"leftBehind":2}`
	var c ContinuedReview
	if err := json.Unmarshal([]byte(old), &c); err != nil {
		t.Fatalf("decode the older input: %v", err)
	}
	want := ContinuedReview{
		Status: remediation.Status{
			State: remediation.StateAwaitingReview, Action: remediation.ActionRefund, TransactionID: "T-1001",
			AmountMinor: 4999, Currency: "USD", Attempts: 1, Escalation: "workitem", WorkitemID: "wi-T-1001",
			Decisions: []remediation.DecisionRecord{},
		},
		RefundStatus:   remediation.RefundStatusFailedReview,
		ReviewSince:    time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		ReviewReason:   "card expired",
		Reminders:      3,
		NextReminder:   time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC),
		OutcomeUnknown: true,
		LeftBehind:     2,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", c, want)
	}
}
