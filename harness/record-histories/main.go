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
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
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

// record runs the selected shapes against fresh dev servers and writes one
// history per run into outDir.
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
		reminding: make(chan string, 1), release: make(chan struct{}), inGenesys: map[string]remediation.Decision{}}
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
	acts := &activities.Activities{Gateway: world, Interactions: world, Finance: world, Workitems: world}
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	// The paced Genesys queue, as the worker serves it (worker/genesys.go).
	gw := worker.New(c, workflows.GenesysTaskQueue(taskQueue), worker.Options{DisableWorkflowWorker: true})
	activities.RegisterGenesysActivities(gw, acts)
	if err := gw.Start(); err != nil {
		return err
	}
	defer gw.Stop()

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
		opts.TypedSearchAttributes = workflows.ReopenSearchAttributes(d)
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
	var decisionRuns [][]*historypb.HistoryEvent
	if s.decisionInGenesys != nil {
		events, err := decideInGenesys(ctx, c, world, d.TransactionID, *s.decisionInGenesys)
		if err != nil {
			return err
		}
		decisionRuns = append(decisionRuns, events)
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
	for _, events := range decisionRuns {
		if err := writeHistory(filepath.Join(outDir, s.name+".workitem_decision.json"), events); err != nil {
			return err
		}
	}
	return nil
}

// decideInGenesys plays finance ops setting the review's workitem to a
// decision status, and the starter's answer to the trigger's event: a
// signal-with-start of the workitem's decision workflow
// (starter/genesysevents.go), whose history it returns once it ended.
func decideInGenesys(ctx context.Context, c client.Client, world *scriptedWorld, txn string, d remediation.Decision) ([]*historypb.HistoryEvent, error) {
	if err := waitForState(ctx, c, remediation.WorkflowID(txn), remediation.StateAwaitingReview, 300*time.Millisecond); err != nil {
		return nil, err
	}
	workitem := "wi-" + txn
	world.decideInGenesys(workitem, d)
	wid := workflows.WorkitemDecisionWorkflowID(workitem)
	run, err := c.SignalWithStartWorkflow(ctx, wid, workflows.WorkitemEventSignal, nil, client.StartWorkflowOptions{
		ID: wid, TaskQueue: taskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         "Read Genesys workitem " + workitem + " and apply its decision",
	}, workflows.WorkitemDecisionWorkflowType, workitem)
	if err != nil {
		return nil, err
	}
	var out workflows.WorkitemDecisionOutcome
	if err := run.Get(ctx, &out); err != nil {
		return nil, err
	}
	if len(out.Signalled) != 1 || out.Signalled[0] != d.DecisionID {
		return nil, fmt.Errorf("the workitem's decision was not signalled: %+v", out)
	}
	return runHistory(ctx, c, wid, run.GetRunID())
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
