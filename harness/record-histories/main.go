// Command record-histories runs one remediation per history shape against a
// real dev server and writes each history to workflows/testdata as JSON, for
// the replay test. Run it on purpose when a workflow change is meant to
// change history shape; never to make a failing replay pass. A change gated
// by workflow.GetVersion adds a shape and records only that one
// (-only name): the older histories are what keeps the old path replaying.
// A workflow that continues as new gives one history per run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/workflows"
)

const taskQueue = "record-histories"

func main() {
	temporalBin := flag.String("temporal", "bin/temporal", "path of the temporal CLI")
	out := flag.String("out", "workflows/testdata", "where histories are written")
	only := flag.String("only", "", "comma-separated shape names to record (default all); a new shape is recorded alone, so the committed histories of older code stay as they are")
	flag.Parse()
	if err := record(*temporalBin, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "record-histories:", err)
		os.Exit(1)
	}
}

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
	}
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

func record(temporalBin, outDir, only string) error {
	selected, err := selectShapes(only)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hanging, err := newHangingGateway()
	if err != nil {
		return err
	}
	defer hanging.close()
	world := &scriptedWorld{rejectedOnce: map[string]bool{}, hanging: hanging.gateway,
		reminding: make(chan string, 1), release: make(chan struct{})}
	defer world.releaseReminders()

	// Shapes that need a server of their own (a continue-as-new
	// suggestion) get one, so the others record as they always have.
	var suggestAt []int
	for _, s := range selected {
		if !slices.Contains(suggestAt, s.suggestContinueAsNewAt) {
			suggestAt = append(suggestAt, s.suggestContinueAsNewAt)
		}
	}
	for _, at := range suggestAt {
		var group []shape
		for _, s := range selected {
			if s.suggestContinueAsNewAt == at {
				group = append(group, s)
			}
		}
		if err := recordOnServer(ctx, temporalBin, outDir, at, world, group); err != nil {
			return err
		}
	}
	return nil
}

// recordOnServer records shapes on one dev server, with a worker of its own.
func recordOnServer(ctx context.Context, temporalBin, outDir string, suggestContinueAsNewAt int, world *scriptedWorld, group []shape) error {
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	args := []string{}
	for _, name := range remediation.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	if suggestContinueAsNewAt > 0 {
		args = append(args, "--dynamic-config-value", fmt.Sprintf("limit.historyCount.suggestContinueAsNew=%d", suggestContinueAsNewAt))
	}
	server, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: temporalBin, LogLevel: "error", ExtraArgs: args,
		ClientOptions: &client.Options{Logger: logger},
	})
	if err != nil {
		return fmt.Errorf("start dev server: %w", err)
	}
	defer server.Stop()
	c := server.Client()

	w := worker.New(c, taskQueue, worker.Options{})
	// Settlement polls from 1s (then 2s) so a poll shape records in
	// seconds; the timeout sends a shape whose final word never came to
	// review, which its check then refuses.
	settings := workflows.Settings{GatewayTimeout: time.Second, RetryWindow: 3 * time.Second, ReviewReminder: time.Second,
		SettlementPoll: time.Second, SettlementTimeout: 30 * time.Second}
	(&workflows.Remediation{Settings: settings}).Register(w)
	w.RegisterActivity(&activities.Activities{Gateway: world, Interactions: world, Finance: world})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	for _, s := range group {
		if err := runShape(ctx, c, world, s, outDir); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Println("recorded", s.name)
	}
	return nil
}

// selectShapes returns the shapes named in only (all when it is empty).
func selectShapes(only string) ([]shape, error) {
	all := shapes()
	if only == "" {
		return all, nil
	}
	var out []shape
	for _, name := range strings.Split(only, ",") {
		i := slices.IndexFunc(all, func(s shape) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("no shape named %q", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

func runShape(ctx context.Context, c client.Client, world *scriptedWorld, s shape, outDir string) error {
	d := s.disposition
	opts := client.StartWorkflowOptions{
		ID: remediation.WorkflowID(d.TransactionID), TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    workflows.StartSearchAttributes(d),
		StaticSummary:            d.Summary(),
	}
	args := []any{d}
	if s.continued != nil {
		// As the starter reopens: a new run of the same workflow ID.
		opts.WorkflowIDConflictPolicy = enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL
		opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		opts.StaticSummary = "Reopened: " + d.Summary()
		args = append(args, s.continued)
	}
	run, err := c.ExecuteWorkflow(ctx, opts, remediation.WorkflowType, args...)
	if err != nil {
		return err
	}
	// GetRunID follows the workflow to its newest run once Get has.
	firstRunID := run.GetRunID()
	if s.whileReminding {
		if err := world.awaitReminder(ctx, d.TransactionID); err != nil {
			return err
		}
	}
	if len(s.gatewayEvents) > 0 {
		// Past the Refund_Pending write (instant here), well before the
		// first poll (1s).
		if err := waitForState(ctx, c, run.GetID(), remediation.StateAwaitingGateway, 300*time.Millisecond); err != nil {
			return err
		}
		for _, ev := range s.gatewayEvents {
			if err := c.SignalWorkflow(ctx, run.GetID(), "", remediation.GatewayEventSignal, ev); err != nil {
				return err
			}
		}
	}
	if err := sendDecisions(ctx, c, run.GetID(), s.decisions, s.decideAfter); err != nil {
		return err
	}
	if len(s.decisionsAfterContinue) > 0 {
		if err := waitForNewRun(ctx, c, run.GetID(), firstRunID); err != nil {
			return err
		}
		if err := sendDecisions(ctx, c, run.GetID(), s.decisionsAfterContinue, 0); err != nil {
			return err
		}
	}
	var out remediation.Outcome
	if s.whileReminding {
		// The reminder is still held: the workflow must end without it.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := run.Get(wctx, &out); err != nil {
			return fmt.Errorf("the decision waited behind the reminder in flight: %w", err)
		}
		world.releaseReminders()
	} else if err := run.Get(ctx, &out); err != nil {
		return err
	}
	if s.check != nil {
		if err := s.check(out); err != nil {
			return err
		}
	}
	// Every run of the workflow, following continue-as-new.
	var runs [][]*historypb.HistoryEvent
	for runID := firstRunID; runID != ""; {
		events, err := runHistory(ctx, c, run.GetID(), runID)
		if err != nil {
			return err
		}
		runs = append(runs, events)
		runID = events[len(events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	if s.checkRuns != nil {
		if err := s.checkRuns(runs); err != nil {
			return err
		}
	}
	for i, events := range runs {
		name := s.name + ".json"
		if i > 0 {
			name = fmt.Sprintf("%s.run%d.json", s.name, i+1)
		}
		if err := writeHistory(filepath.Join(outDir, name), events); err != nil {
			return err
		}
	}
	return nil
}

func sendDecisions(ctx context.Context, c client.Client, id string, decisions []remediation.Decision, settle time.Duration) error {
	for _, dec := range decisions {
		if err := waitForState(ctx, c, id, remediation.StateAwaitingReview, settle); err != nil {
			return err
		}
		if err := c.SignalWorkflow(ctx, id, "", remediation.DecisionSignal, dec); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// waitForNewRun waits until the workflow's current run is not firstRunID.
func waitForNewRun(ctx context.Context, c client.Client, id, firstRunID string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err == nil && desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() != firstRunID {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("workflow %s never continued as new", id)
}

func runHistory(ctx context.Context, c client.Client, id, runID string) ([]*historypb.HistoryEvent, error) {
	iter := c.GetWorkflowHistory(ctx, id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("run %s of %s has no history", runID, id)
	}
	return events, nil
}

func writeHistory(path string, history []*historypb.HistoryEvent) error {
	var events []json.RawMessage
	for _, e := range history {
		b, err := protojson.Marshal(e)
		if err != nil {
			return err
		}
		events = append(events, b)
	}
	body, err := json.MarshalIndent(map[string]any{"events": events}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(body, '\n'), 0o644)
}

func waitForState(ctx context.Context, c client.Client, id string, want remediation.State, settle time.Duration) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, err := c.QueryWorkflow(ctx, id, "", remediation.StatusQuery)
		if err == nil {
			var st remediation.Status
			if err := v.Get(&st); err == nil && st.State == want {
				time.Sleep(settle)
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("workflow %s never reached %s", id, want)
}

// scriptedWorld answers by transaction ID prefix: REJECTONCE- is refused on
// the first submission only, REJECT- always, DOWN- is always unavailable,
// HANG- goes to the hanging gateway, PENDING- is taken as pending (a
// submission under a renewed key settles at once). Reminders about a
// transaction whose ID holds SLOWREMIND are held until releaseReminders.
type scriptedWorld struct {
	mu           sync.Mutex
	rejectedOnce map[string]bool
	hanging      activities.Gateway
	reminding    chan string
	release      chan struct{}
	releaseOnce  sync.Once
}

// Check answers a poll as a gateway would: PENDING-POLL's refund is
// pending at the first poll and succeeded from the second; every other
// refund stays pending (its webhook decides).
func (w *scriptedWorld) Check(_ context.Context, c activities.SettlementCheck) (remediation.GatewayEvent, error) {
	status := "pending"
	if strings.HasPrefix(c.TransactionID, "PENDING-POLL") && c.Poll >= 2 {
		status = "succeeded"
	}
	return remediation.GatewayEvent{EventID: fmt.Sprintf("poll:%d", c.Poll), Gateway: "scripted",
		GatewayReference: c.GatewayReference, Status: status}, nil
}

// renewedAttempt returns the attempt suffix of a renewed Idempotency-Key
// (r2 of TX:refund:r2), or "".
func renewedAttempt(key string) string {
	last := key[strings.LastIndex(key, ":")+1:]
	if len(last) < 2 || last[0] != 'r' || strings.Trim(last[1:], "0123456789") != "" {
		return ""
	}
	return last
}

func (w *scriptedWorld) Submit(ctx context.Context, s activities.Submission) (activities.SubmissionResult, error) {
	if strings.HasPrefix(s.TransactionID, "HANG-") {
		return w.hanging.Submit(ctx, s)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case strings.HasPrefix(s.TransactionID, "DOWN-"):
		return activities.SubmissionResult{}, temporal.NewApplicationError("gateway answered 503", string(activities.ErrGatewayUnavailable))
	case strings.HasPrefix(s.TransactionID, "REJECT-"),
		strings.HasPrefix(s.TransactionID, "REJECTONCE-") && !w.rejectedOnce[s.TransactionID]:
		w.rejectedOnce[s.TransactionID] = true
		return activities.SubmissionResult{}, temporal.NewNonRetryableApplicationError("gateway answered 422: refused", string(activities.ErrGatewayRejected), nil)
	case strings.HasPrefix(s.TransactionID, "PENDING-"):
		if r := renewedAttempt(s.IdempotencyKey); r != "" {
			return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID + "-" + r, HTTPStatus: 200, GatewayStatus: "succeeded"}, nil
		}
		return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID, HTTPStatus: 200, GatewayStatus: "pending"}, nil
	}
	return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID, HTTPStatus: 201}, nil
}

func (w *scriptedWorld) UpdateAttributes(context.Context, activities.InteractionUpdate) error {
	return nil
}

func (w *scriptedWorld) SetWrapup(context.Context, activities.FailedWrapup) error {
	return temporal.NewNonRetryableApplicationError("wrap-up refused: after-call work has ended", string(activities.ErrGenesysRejected), nil)
}

func (w *scriptedWorld) Escalate(_ context.Context, e activities.Escalation) (activities.EscalationResult, error) {
	return activities.EscalationResult{Channel: "workitem", WorkitemID: "wi-" + e.TransactionID, Created: true}, nil
}

// Remind holds a SLOWREMIND reminder as a Genesys that does not answer
// would, and says so on reminding; it does not heartbeat, as the real one
// does not, so a cancellation reaches it only through its timeout.
func (w *scriptedWorld) Remind(ctx context.Context, r activities.Reminder) error {
	if !strings.Contains(r.TransactionID, "SLOWREMIND") {
		return nil
	}
	select {
	case w.reminding <- r.TransactionID:
	default:
	}
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil
}

// CloseWorkitem refuses a workitem whose ID holds CLOSEFAIL, as Genesys
// refuses a status transition the worktype does not allow.
func (w *scriptedWorld) CloseWorkitem(_ context.Context, c activities.WorkitemClosure) error {
	if strings.Contains(c.WorkitemID, "CLOSEFAIL") {
		return temporal.NewNonRetryableApplicationError("Genesys answered 400: status transition not allowed", string(activities.ErrGenesysRejected), nil)
	}
	return nil
}

func (w *scriptedWorld) awaitReminder(ctx context.Context, txn string) error {
	select {
	case got := <-w.reminding:
		if got != txn {
			return fmt.Errorf("reminder about %s, want %s", got, txn)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no reminder about %s started", txn)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *scriptedWorld) releaseReminders() { w.releaseOnce.Do(func() { close(w.release) }) }

// hangingGateway is the real ERP client against a local gateway that holds
// the first refund past the client's timeout (as if it made the refund and
// the answer was lost), then answers 503 until the retry window ends.
type hangingGateway struct {
	srv     *httptest.Server
	gateway *activities.ERPGateway
	calls   atomic.Int32
}

func newHangingGateway() (*hangingGateway, error) {
	h := &hangingGateway{}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"record-histories","token_type":"bearer","expires_in":3600}`)
	})
	mux.HandleFunc("/refunds", func(w http.ResponseWriter, r *http.Request) {
		if h.calls.Add(1) == 1 {
			// Read the body first: the server notices the client hanging up
			// only once it has.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	h.srv = httptest.NewServer(mux)
	const timeout = 300 * time.Millisecond
	gw, err := activities.NewERPGateway(activities.GatewayConfig{
		RefundURL: h.srv.URL + "/refunds", ChargebackURL: h.srv.URL + "/chargebacks", TokenURL: h.srv.URL + "/token",
		ClientID: "record-histories", ClientSecret: "record-histories", Timeout: timeout,
	}, activities.NewHTTPClient(timeout), nil)
	if err != nil {
		h.srv.Close()
		return nil, err
	}
	h.gateway = gw
	return h, nil
}

func (h *hangingGateway) close() { h.srv.Close() }
