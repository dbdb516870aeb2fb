// Command record-histories runs one remediation per history shape against a
// real dev server and writes each history to workflows/testdata as JSON, for
// the replay test. Run it on purpose (make histories) when a workflow change
// is meant to change history shape; never to make a failing replay pass.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
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
	flag.Parse()
	if err := record(*temporalBin, *out); err != nil {
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
	}
}

func record(temporalBin, outDir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	args := []string{}
	for _, name := range remediation.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
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
	settings := workflows.Settings{GatewayTimeout: time.Second, RetryWindow: 3 * time.Second, ReviewReminder: time.Second}
	(&workflows.Remediation{Settings: settings}).Register(w)
	world := &scriptedWorld{rejectedOnce: map[string]bool{}}
	w.RegisterActivity(&activities.Activities{Gateway: world, Interactions: world, Finance: world})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	for _, s := range shapes() {
		if err := runShape(ctx, c, s, outDir); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Println("recorded", s.name)
	}
	return nil
}

func runShape(ctx context.Context, c client.Client, s shape, outDir string) error {
	d := s.disposition
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: remediation.WorkflowID(d.TransactionID), TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    workflows.StartSearchAttributes(d),
		StaticSummary:            d.Summary(),
	}, remediation.WorkflowType, d)
	if err != nil {
		return err
	}
	for _, dec := range s.decisions {
		if err := waitForState(ctx, c, run.GetID(), remediation.StateAwaitingReview, s.decideAfter); err != nil {
			return err
		}
		if err := c.SignalWorkflow(ctx, run.GetID(), "", remediation.DecisionSignal, dec); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
	}
	var out remediation.Outcome
	if err := run.Get(ctx, &out); err != nil {
		return err
	}
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []json.RawMessage
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return err
		}
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
	return os.WriteFile(filepath.Join(outDir, s.name+".json"), append(body, '\n'), 0o644)
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
// the first submission only, REJECT- always, DOWN- is always unavailable.
type scriptedWorld struct {
	mu           sync.Mutex
	rejectedOnce map[string]bool
}

func (w *scriptedWorld) Submit(_ context.Context, s activities.Submission) (activities.SubmissionResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case strings.HasPrefix(s.TransactionID, "DOWN-"):
		return activities.SubmissionResult{}, temporal.NewApplicationError("gateway answered 503", activities.ErrGatewayUnavailable)
	case strings.HasPrefix(s.TransactionID, "REJECT-"),
		strings.HasPrefix(s.TransactionID, "REJECTONCE-") && !w.rejectedOnce[s.TransactionID]:
		w.rejectedOnce[s.TransactionID] = true
		return activities.SubmissionResult{}, temporal.NewNonRetryableApplicationError("gateway answered 422: refused", activities.ErrGatewayRejected, nil)
	}
	return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID, HTTPStatus: 201}, nil
}

func (w *scriptedWorld) UpdateAttributes(context.Context, activities.InteractionUpdate) error {
	return nil
}

func (w *scriptedWorld) SetWrapup(context.Context, activities.FailedWrapup) error {
	return temporal.NewNonRetryableApplicationError("wrap-up refused: after-call work has ended", activities.ErrGenesysRejected, nil)
}

func (w *scriptedWorld) Escalate(_ context.Context, e activities.Escalation) (activities.EscalationResult, error) {
	return activities.EscalationResult{Channel: "workitem", WorkitemID: "wi-" + e.TransactionID, Created: true}, nil
}

func (w *scriptedWorld) Remind(context.Context, activities.Reminder) error { return nil }
