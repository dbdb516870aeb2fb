package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/workflows"
)

// shape is one path through the workflow that gives a distinct history.
type shape struct {
	name        string
	disposition remediation.Disposition
	decisions   []remediation.Decision
	// decideAfter waits before each decision (for reminders to fire).
	decideAfter time.Duration
	// whileReminding sends the decisions while a reminder is still being
	// delivered (the world holds it), and checks they did not wait for it.
	whileReminding bool
	// check is what the run must show, so a history records the path it
	// is named for.
	check func(remediation.Outcome) error
	// suggestContinueAsNewAt runs the shape on a dev server of its own that
	// suggests continue-as-new after this many history events (Temporal's
	// default is 4,096), so a review continues as new within seconds, the
	// way a months-long one does. The suggestion is in the recorded
	// workflow task events, so the history replays with the workflow's own
	// limit. 0 is the server default.
	suggestContinueAsNewAt int
	// decisionsAfterContinue are sent once the workflow has continued as
	// new and its new run awaits review. Every run's history is recorded:
	// <name>.json, then <name>.run2.json and so on.
	decisionsAfterContinue []remediation.Decision
	// checkRuns is what the runs' histories must show.
	checkRuns func([][]*historypb.HistoryEvent) error
	// continued is the workflow's second input; non-nil starts the run
	// the way the starter reopens a remediation that ended Completed
	// (starter/reopen.go).
	continued *workflows.ContinuedReview
	// gatewayEvents are sent as gateway-event signals, in order, once the
	// workflow awaits the gateway (AwaitingGateway) and has told Genesys
	// the refund is pending.
	gatewayEvents []remediation.GatewayEvent
	// decisionInGenesys is made on the review's workitem once the workflow
	// awaits review, and applied by the workitem's decision workflow,
	// whose history is recorded too: <name>.workitem_decision.json.
	decisionInGenesys *remediation.Decision
}

func shapes() []shape {
	base := func(txn string) remediation.Disposition {
		return remediation.Disposition{
			TransactionID: txn, DispositionCode: "Refund_Processed", Action: remediation.ActionRefund,
			CustomerTokenID: "tok_visa_1234", CustomerID: "C-1", AmountText: "49.99", AmountMinor: 4999, Currency: "USD",
			ConversationID: "conv-" + txn, ParticipantID: "part-1", CommunicationID: "comm-1", AgentID: "agent-7",
			Timestamp: "2026-11-25T10:00:00Z",
		}
	}
	chargeback := base("HIST-CB")
	chargeback.DispositionCode, chargeback.Action = "Chargeback_Requested", remediation.ActionChargeback
	review := base("HIST-REVIEW")
	review.DispositionCode, review.Action = "Escalation_Sent", remediation.ActionReview
	invalid := base("HIST-INVALID")
	invalid.AmountText, invalid.AmountMinor, invalid.AmountError = "0", 0, "amount zero: amount is zero"
	reversed := base("REVERSAL-1")
	return []shape{
		{name: "happy_refund", disposition: base("HIST-OK")},
		{name: "chargeback", disposition: chargeback},
		{name: "review_rejected", disposition: review, decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "alice"}}},
		{name: "invalid_amount_resolved", disposition: invalid, decisions: []remediation.Decision{{DecisionID: "d1", Decision: "resolved", Approver: "alice", Note: "paid in branch"}}},
		{name: "rejected_then_approved", disposition: base("REJECTONCE-1"), decisions: []remediation.Decision{{DecisionID: "d1", Decision: "approve", Approver: "alice"}}},
		{name: "approved_corrected_amount", disposition: base("REJECTONCE-2"), decisions: []remediation.Decision{{DecisionID: "d1", Decision: "approve", Approver: "alice", RefundAmount: "39.50"}}},
		{name: "outage_window_then_reject", disposition: base("DOWN-1"), decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "alice"}}},
		{name: "reminded_refused_duplicate_then_reject", disposition: base("REJECT-2"), decideAfter: 2500 * time.Millisecond, decisions: []remediation.Decision{
			{DecisionID: "d1", Decision: "approve", Approver: "agent-7"},
			{DecisionID: "d2", Decision: "approve", Approver: "alice"},
			{DecisionID: "d2", Decision: "approve", Approver: "alice"},
			{DecisionID: "d3", Decision: "reject", Approver: "bob"},
		}},
		// The non-blocking-reminder change: a rejection that arrives while
		// a reminder is held by a slow Genesys ends the workflow at once,
		// and the reminder is cancelled.
		{name: "decision_during_slow_reminder", disposition: base("REJECT-SLOWREMIND"), whileReminding: true,
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "alice"}},
			check: func(out remediation.Outcome) error {
				for _, e := range out.WritebackErrors {
					if strings.Contains(e, "reminder") {
						return fmt.Errorf("the cancelled reminder was recorded as a failure: %q", e)
					}
				}
				if out.State != remediation.StateRejected {
					return fmt.Errorf("want Rejected, got %s", out.State)
				}
				return nil
			}},
		// A gateway call that hangs past its timeout, then 503s to the end
		// of the window, through the real ERP client: the review says the
		// refund may have been made.
		{name: "unanswered_then_outage_review", disposition: base("HANG-1"),
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "alice"}},
			check: func(out remediation.Outcome) error {
				if !strings.HasPrefix(out.LastError, "OUTCOME UNKNOWN") || !strings.Contains(out.LastError, "503") {
					return fmt.Errorf("lastError does not warn of an unknown outcome: %q", out.LastError)
				}
				return nil
			}},
		// The continue-as-new-review change: a review outgrows its run
		// (here at the server's suggestion, 50 events: a refused decision
		// and a few reminders) and goes on in a new one, which submits
		// nothing until finance ops approve, and then completes.
		{name: "review_continued_as_new_then_approved", disposition: base("REJECTONCE-CAN"), suggestContinueAsNewAt: 50,
			decisions:              []remediation.Decision{{DecisionID: "d1", Decision: "approve", Approver: "agent-7"}},
			decisionsAfterContinue: []remediation.Decision{{DecisionID: "d2", Decision: "approve", Approver: "alice"}},
			check: func(out remediation.Outcome) error {
				outcomes := make([]string, len(out.Decisions))
				for i, d := range out.Decisions {
					outcomes[i] = d.DecisionID + ":" + d.Outcome
				}
				switch {
				case out.State != remediation.StateCompleted:
					return fmt.Errorf("want Completed, got %s", out.State)
				case out.Attempts != 2:
					return fmt.Errorf("want 2 submissions (the first, the approval), got %d", out.Attempts)
				case strings.Join(outcomes, ",") != "d1:refused,d2:applied":
					return fmt.Errorf("decisions not carried into the new run: %v", outcomes)
				}
				return nil
			},
			checkRuns: func(runs [][]*historypb.HistoryEvent) error {
				if len(runs) < 2 {
					return fmt.Errorf("the review never continued as new (%d run)", len(runs))
				}
				// The last run does only what the approval asks for.
				var scheduled []string
				signalled := false
				for _, e := range runs[len(runs)-1] {
					if e.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
						signalled = true
					}
					if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() != "RemindFinance" {
						if !signalled {
							return fmt.Errorf("the new run called %s before any decision", a.GetActivityType().GetName())
						}
						scheduled = append(scheduled, a.GetActivityType().GetName())
					}
				}
				// Recorded before close-workitem; recorded again, the new run
				// would close the workitem too.
				if got := strings.Join(scheduled, ","); got != "SubmitRefund,UpdateInteraction,CloseWorkitem" {
					return fmt.Errorf("the new run called %s, want SubmitRefund,UpdateInteraction,CloseWorkitem", got)
				}
				return nil
			}},
		// The close-workitem change: a review that ends closes its
		// workitem, once, after the outcome is written (approval after a
		// failure, and a rejection), and a workitem Genesys refuses to
		// close is a write-back error, not a failed workflow.
		{name: "approved_workitem_closed", disposition: base("REJECTONCE-CLOSE"),
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "approve", Approver: "alice"}},
			check:     wantClosed(remediation.StateCompleted),
			checkRuns: closedOnce(activities.WorkitemClosure{WorkitemID: "wi-REJECTONCE-CLOSE", State: remediation.StateCompleted,
				DecidedBy: "alice", GatewayReference: "rf_REJECTONCE-CLOSE"})},
		// A decision made in Genesys: the review's workitem set to
		// Approved, read back by the short GenesysWorkitemDecision
		// workflow and signalled to the remediation as finance-decision.
		{name: "approved_in_genesys", disposition: base("REJECTONCE-GENESYS"),
			decisionInGenesys: &remediation.Decision{DecisionID: "genesys:wi-REJECTONCE-GENESYS:5a4d0f2e-0000-4000-8000-000000000001:2026-11-25T10:05:00Z",
				Decision: "approve", Approver: "genesys:1ea7c0de-0000-4000-8000-00000000c11e"},
			check: wantClosed(remediation.StateCompleted)},
		{name: "rejected_workitem_closed", disposition: base("REJECT-CLOSE"),
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "bob"}},
			check:     wantClosed(remediation.StateRejected),
			checkRuns: closedOnce(activities.WorkitemClosure{WorkitemID: "wi-REJECT-CLOSE", State: remediation.StateRejected, DecidedBy: "bob"})},
		// Both changes in one workflow task: a rejection while a reminder
		// is held by a slow Genesys cancels the reminder and closes the
		// workitem behind the close-workitem marker.
		{name: "decision_during_slow_reminder_workitem_closed", disposition: base("REJECT-SLOWREMIND-CLOSE"), whileReminding: true,
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "alice"}},
			check:     wantClosed(remediation.StateRejected),
			checkRuns: closedOnce(activities.WorkitemClosure{WorkitemID: "wi-REJECT-SLOWREMIND-CLOSE", State: remediation.StateRejected, DecidedBy: "alice"})},
		{name: "resolved_workitem_close_refused", disposition: base("REJECT-CLOSEFAIL"),
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "resolved", Approver: "carol", Note: "paid in branch"}},
			check: func(out remediation.Outcome) error {
				if out.State != remediation.StateResolvedManually {
					return fmt.Errorf("want ResolvedManually, got %s", out.State)
				}
				for _, e := range out.WritebackErrors {
					if strings.Contains(e, "closing Genesys workitem") && strings.Contains(e, "GenesysRejected") {
						return nil
					}
				}
				return fmt.Errorf("the refused close is not a write-back error: %q", out.WritebackErrors)
			},
			checkRuns: closedOnce(activities.WorkitemClosure{WorkitemID: "wi-REJECT-CLOSEFAIL", State: remediation.StateResolvedManually, DecidedBy: "carol"})},
		// The gateway-settlement change: the gateway takes the refund as
		// pending (AwaitingGateway, Genesys told Refund_Pending) and gives
		// its final word later, by webhook or by poll.
		{name: "pending_then_succeeded_by_webhook", disposition: base("PENDING-WEBHOOK"),
			gatewayEvents: []remediation.GatewayEvent{{EventID: "evt_PENDING-WEBHOOK_1", Gateway: "stripe", GatewayReference: "rf_PENDING-WEBHOOK",
				Status: "succeeded", OccurredAt: "2026-11-25T10:05:00Z"}},
			check:     wantSettled(remediation.StateCompleted, "succeeded", 1),
			checkRuns: settledBy(0, 1, "SubmitRefund,UpdateInteraction,UpdateInteraction")},
		{name: "pending_then_succeeded_by_poll", disposition: base("PENDING-POLL"),
			check:     wantSettled(remediation.StateCompleted, "succeeded", 1),
			checkRuns: settledBy(2, 0, "SubmitRefund,UpdateInteraction,CheckSettlement,CheckSettlement,UpdateInteraction")},
		// The settle-beside-pending-write change: the polls start while the
		// Refund_Pending write is in flight; settled by the second poll.
		{name: "pending_settled_beside_pending_write", disposition: base("PENDING-POLL-BESIDE"),
			check:     wantSettled(remediation.StateCompleted, "succeeded", 1),
			checkRuns: settledBy(2, 0, "SubmitRefund,UpdateInteraction,CheckSettlement,CheckSettlement,UpdateInteraction")},
		// The gateway fails the refund it took: review, and the approval
		// submits under a renewed Idempotency-Key (...:r2), which the
		// gateway settles at once; the review's workitem is closed.
		{name: "pending_then_failed_then_approved", disposition: base("PENDING-FAIL"),
			gatewayEvents: []remediation.GatewayEvent{{EventID: "evt_PENDING-FAIL_1", Gateway: "stripe", GatewayReference: "rf_PENDING-FAIL",
				Status: "failed", Reason: "expired_or_canceled_card", OccurredAt: "2026-11-25T10:05:00Z"}},
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "approve", Approver: "alice"}},
			check: func(out remediation.Outcome) error {
				if err := wantSettled(remediation.StateCompleted, "succeeded", 2)(out); err != nil {
					return err
				}
				return wantClosed(remediation.StateCompleted)(out)
			},
			checkRuns: all(settledBy(0, 1, ""), renewedKey("PENDING-FAIL:refund:r2"),
				closedOnce(activities.WorkitemClosure{WorkitemID: "wi-PENDING-FAIL", State: remediation.StateCompleted,
					DecidedBy: "alice", GatewayReference: "rf_PENDING-FAIL-r2"}))},
		// A reversal after the remediation ended Completed: the starter
		// starts the transaction's next run with the last outcome and the
		// event (starter/reopen.go), the review reopens, and a rejection
		// ends it without a submission.
		{name: "reversal_after_completed", disposition: reversed,
			continued: &workflows.ContinuedReview{
				Status: remediation.Status{
					State: remediation.StateCompleted, Action: reversed.Action, TransactionID: reversed.TransactionID,
					AmountMinor: reversed.AmountMinor, Currency: reversed.Currency, Attempts: 2,
					GatewayReference: "rf_REVERSAL-1", GatewayStatus: "succeeded", WorkitemID: "wi-REVERSAL-1", Escalation: "workitem",
					Decisions: []remediation.DecisionRecord{{
						Decision:   remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"},
						ReceivedAt: "2026-11-25T11:00:00Z", Outcome: remediation.OutcomeApplied}},
				},
				RefundStatus: remediation.RefundStatusCompleted,
				Reopened: &remediation.GatewayEvent{EventID: "evt_REVERSAL-1_1", Gateway: "stripe", GatewayReference: "rf_REVERSAL-1",
					Status: "reversed", Reason: "charge disputed by the cardholder", OccurredAt: "2026-11-27T09:00:00Z"},
			},
			decisions: []remediation.Decision{{DecisionID: "d2", Decision: "reject", Approver: "bob", Note: "the dispute settles it"}},
			check: func(out remediation.Outcome) error {
				if err := wantClosed(remediation.StateRejected)(out); err != nil {
					return err
				}
				if out.GatewayStatus != "reversed" || !strings.Contains(out.LastError, "reversed") {
					return fmt.Errorf("the reversal is not in the outcome: gatewayStatus %q, lastError %q", out.GatewayStatus, out.LastError)
				}
				return nil
			},
			checkRuns: all(reopenedWithoutSubmission,
				closedOnce(activities.WorkitemClosure{WorkitemID: "wi-REVERSAL-1", State: remediation.StateRejected,
					DecidedBy: "bob", GatewayReference: "rf_REVERSAL-1"}))},
		// The paced Genesys queue: every Genesys activity (the attributes,
		// the wrap-up, the escalation, the close) runs on <queue>-genesys.
		{name: "paced_genesys_rejected_workitem_closed", disposition: base("REJECT-PACED"),
			decisions: []remediation.Decision{{DecisionID: "d1", Decision: "reject", Approver: "bob"}},
			check:     wantClosed(remediation.StateRejected),
			checkRuns: all(genesysPaced,
				closedOnce(activities.WorkitemClosure{WorkitemID: "wi-REJECT-PACED", State: remediation.StateRejected, DecidedBy: "bob"}))},
	}
}

// genesysPaced checks that the run scheduled every Genesys activity, and
// only those, on the paced queue.
func genesysPaced(runs [][]*historypb.HistoryEvent) error {
	genesys := activities.GenesysActivities(&activities.Activities{})
	paced := 0
	for _, e := range runs[len(runs)-1] {
		a := e.GetActivityTaskScheduledEventAttributes()
		if a == nil {
			continue
		}
		name, queue := a.GetActivityType().GetName(), a.GetTaskQueue().GetName()
		_, isGenesys := genesys[name]
		switch {
		case isGenesys && queue != workflows.GenesysTaskQueue(taskQueue):
			return fmt.Errorf("%s scheduled on %s, want %s", name, queue, workflows.GenesysTaskQueue(taskQueue))
		case !isGenesys && queue != taskQueue:
			return fmt.Errorf("%s scheduled on %s, want the workflow's queue %s", name, queue, taskQueue)
		case isGenesys:
			paced++
		}
	}
	if paced < 4 {
		return fmt.Errorf("%d Genesys activities paced, want the attributes, wrap-up, escalation and close", paced)
	}
	return nil
}

// all checks a history with each check in turn.
func all(checks ...func([][]*historypb.HistoryEvent) error) func([][]*historypb.HistoryEvent) error {
	return func(runs [][]*historypb.HistoryEvent) error {
		for _, c := range checks {
			if err := c(runs); err != nil {
				return err
			}
		}
		return nil
	}
}

// wantSettled checks the run ended in state with the gateway's last word
// and the number of submissions.
func wantSettled(state remediation.State, gatewayStatus string, attempts int) func(remediation.Outcome) error {
	return func(out remediation.Outcome) error {
		switch {
		case out.State != state:
			return fmt.Errorf("want %s, got %s (lastError %q)", state, out.State, out.LastError)
		case out.GatewayStatus != gatewayStatus:
			return fmt.Errorf("want gatewayStatus %q, got %q", gatewayStatus, out.GatewayStatus)
		case out.Attempts != attempts:
			return fmt.Errorf("want %d submissions, got %d", attempts, out.Attempts)
		}
		return nil
	}
}

// settledBy checks the history waited behind the gateway-settlement marker
// and heard the gateway's word the way the shape is named for: so many
// polls and gateway-event signals, and (unless empty) exactly these
// activities in order. A webhook shape whose poll timer fired first would
// record another shape; it fails here instead.
func settledBy(polls, signals int, activityTypes string) func([][]*historypb.HistoryEvent) error {
	return func(runs [][]*historypb.HistoryEvent) error {
		marker, gotPolls, gotSignals := false, 0, 0
		var scheduled []string
		for _, e := range runs[len(runs)-1] {
			if m := e.GetMarkerRecordedEventAttributes(); m != nil && strings.Contains(m.String(), "gateway-settlement") {
				marker = true
			}
			if sig := e.GetWorkflowExecutionSignaledEventAttributes(); sig != nil && sig.GetSignalName() == remediation.GatewayEventSignal {
				gotSignals++
			}
			if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled = append(scheduled, a.GetActivityType().GetName())
				if a.GetActivityType().GetName() == "CheckSettlement" {
					gotPolls++
				}
			}
		}
		switch {
		case !marker:
			return fmt.Errorf("no gateway-settlement marker")
		case gotPolls != polls || gotSignals != signals:
			return fmt.Errorf("%d polls and %d gateway-event signals, want %d and %d", gotPolls, gotSignals, polls, signals)
		case activityTypes != "" && strings.Join(scheduled, ",") != activityTypes:
			return fmt.Errorf("activities %s, want %s", strings.Join(scheduled, ","), activityTypes)
		}
		return nil
	}
}

// renewedKey checks the last submission went out under key.
func renewedKey(key string) func([][]*historypb.HistoryEvent) error {
	return func(runs [][]*historypb.HistoryEvent) error {
		var last activities.Submission
		for _, e := range runs[len(runs)-1] {
			a := e.GetActivityTaskScheduledEventAttributes()
			if a == nil || a.GetActivityType().GetName() != "SubmitRefund" {
				continue
			}
			if err := json.Unmarshal(a.GetInput().GetPayloads()[0].GetData(), &last); err != nil {
				return fmt.Errorf("SubmitRefund input: %w", err)
			}
		}
		if last.IdempotencyKey != key {
			return fmt.Errorf("last submission under Idempotency-Key %q, want %q", last.IdempotencyKey, key)
		}
		return nil
	}
}

// reopenedWithoutSubmission checks a reopened run escalated as a reopen
// and submitted nothing (the rejection needs no refund).
func reopenedWithoutSubmission(runs [][]*historypb.HistoryEvent) error {
	reopen := false
	for _, e := range runs[len(runs)-1] {
		a := e.GetActivityTaskScheduledEventAttributes()
		if a == nil {
			continue
		}
		switch a.GetActivityType().GetName() {
		case "SubmitRefund", "SubmitChargeback", "CheckSettlement":
			return fmt.Errorf("the reopened run called %s", a.GetActivityType().GetName())
		case "EscalateToFinance":
			var esc activities.Escalation
			if err := json.Unmarshal(a.GetInput().GetPayloads()[0].GetData(), &esc); err != nil {
				return fmt.Errorf("EscalateToFinance input: %w", err)
			}
			reopen = reopen || esc.Reopen
		}
	}
	if !reopen {
		return fmt.Errorf("no escalation as a reopen")
	}
	return nil
}

// wantClosed checks the run ended in state and the workitem was closed.
func wantClosed(state remediation.State) func(remediation.Outcome) error {
	return func(out remediation.Outcome) error {
		if out.State != state {
			return fmt.Errorf("want %s, got %s", state, out.State)
		}
		// (The wrap-up is always refused here, as after call work.)
		for _, e := range out.WritebackErrors {
			if strings.Contains(e, "workitem") {
				return fmt.Errorf("write-back error: %q", e)
			}
		}
		return nil
	}
}

// closedOnce checks the history closes the workitem in one activity, the
// last one scheduled, behind the close-workitem marker, with who decided
// and the gateway reference.
func closedOnce(want activities.WorkitemClosure) func([][]*historypb.HistoryEvent) error {
	return func(runs [][]*historypb.HistoryEvent) error {
		marker, closes := false, 0
		var last string
		for _, e := range runs[len(runs)-1] {
			if m := e.GetMarkerRecordedEventAttributes(); m != nil && strings.Contains(m.String(), "close-workitem") {
				marker = true
			}
			a := e.GetActivityTaskScheduledEventAttributes()
			if a == nil {
				continue
			}
			last = a.GetActivityType().GetName()
			if last != "CloseWorkitem" {
				continue
			}
			closes++
			if !marker {
				return fmt.Errorf("CloseWorkitem scheduled before the close-workitem marker")
			}
			var got activities.WorkitemClosure
			if err := json.Unmarshal(a.GetInput().GetPayloads()[0].GetData(), &got); err != nil {
				return fmt.Errorf("CloseWorkitem input: %w", err)
			}
			if got.WorkitemID != want.WorkitemID || got.State != want.State || got.DecidedBy != want.DecidedBy || got.GatewayReference != want.GatewayReference {
				return fmt.Errorf("CloseWorkitem with %+v, want %+v", got, want)
			}
		}
		if closes != 1 || last != "CloseWorkitem" {
			return fmt.Errorf("CloseWorkitem scheduled %d times (last activity %s), want once, last", closes, last)
		}
		return nil
	}
}
