package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/workflows"
)

// bench is one benchmark run over one world.
type bench struct {
	cfg   config
	w     *world
	http  *webhookClient
	logw  io.Writer
	runID string
}

// runBenchmark starts the world, runs the three phases and compares them.
func runBenchmark(ctx context.Context, cfg config, logw io.Writer) (*report, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	rep := newReport(cfg)
	w, err := startWorld(ctx, cfg, logw)
	if err != nil {
		if w != nil {
			w.stop(true)
			return nil, fmt.Errorf("%w (logs kept in %s)", err, w.dir)
		}
		return nil, err
	}
	b := &bench{cfg: cfg, w: w, http: newWebhookClient(w.starterURL, cfg.concurrency), logw: logw,
		runID: strconv.FormatInt(time.Now().UnixNano()%1e10, 36)}
	if rep.Baseline, err = b.baseline(ctx); err == nil {
		var ours []closedRun
		if rep.Ours, ours, err = b.ours(ctx); err == nil {
			rep.Dedupe, err = b.dedupe(ctx, ours)
		}
	}
	w.stop(cfg.keep || err != nil)
	if err != nil {
		return nil, fmt.Errorf("%w (logs kept in %s)", err, w.dir)
	}
	if cfg.keep {
		fmt.Fprintf(logw, "work folder kept: %s\n", w.dir)
	}
	rep.compare()
	return rep, nil
}

// txnPrefix starts every transaction ID of one kind of call ("warm" or
// "run") in this run, so visibility can select exactly them.
func (b *bench) txnPrefix(kind string) string { return "B" + b.runID + "-" + kind + "-" }

// txn is the transaction ID of call i of a kind.
func (b *bench) txn(kind string, i int) string { return fmt.Sprintf("%s%06d", b.txnPrefix(kind), i) }

func (b *bench) disposition(txn string) remediation.Disposition {
	return remediation.Disposition{
		TransactionID: txn, DispositionCode: "Refund_Processed", Action: remediation.ActionRefund,
		CustomerTokenID: "tok_visa_1234", CustomerID: "C-" + txn,
		AmountText: "49.99", AmountMinor: 4999, Currency: "USD",
		ConversationID: "conv-" + txn, ParticipantID: "part-agent", CommunicationID: "comm-1",
		AgentID: "agent-7", QueueID: "queue-1", Timestamp: time.Now().UTC().Format(time.RFC3339),
	}
}

// baseline runs the bare workflows, started as the starter starts ours.
func (b *bench) baseline(ctx context.Context) (phaseResult, error) {
	fmt.Fprintf(b.logw, "baseline: %d bare workflows, %d at a time ...\n", b.cfg.n, b.cfg.concurrency)
	if err := b.w.startBare(ctx); err != nil {
		return phaseResult{}, err
	}
	// Stopped afterwards so that its idle pollers do not share the cores
	// with ours.
	defer func() { _ = b.w.bare.Stop(10 * time.Second) }()
	id := func(kind string, i int) string { return "bare-" + b.txn(kind, i) }
	start := func(kind string) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			d := b.disposition(b.txn(kind, i))
			// The starter's start options (starter/start.go), field for
			// field; only the ID prefix and the task queue differ.
			_, err := b.w.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                                       id(kind, i),
				TaskQueue:                                bareTaskQueue,
				WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
				WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				WorkflowExecutionErrorWhenAlreadyStarted: true,
				TypedSearchAttributes:                    workflows.StartSearchAttributes(d),
				StaticSummary:                            d.Summary(),
				StaticDetails:                            "**Transaction** `" + d.TransactionID + "`",
				EnableEagerStart:                         true,
			}, bareWorkflowType, d)
			return err
		}
	}
	if err := b.warm(ctx, start("warm"), idQuery(bareWorkflowType, "bare-"+b.txnPrefix("warm"))); err != nil {
		return phaseResult{}, fmt.Errorf("baseline warm-up: %w", err)
	}
	res, runs, err := b.measure(ctx, "baseline", start("run"), bareWorkflowType, "bare-"+b.txnPrefix("run"),
		func(i int) string { return id("run", i) })
	if err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	if res.WorkerPeakRSSMiB, err = peakRSSMiB(b.w.bare.PID()); err != nil {
		return res, err
	}
	return res, b.addHistoryCosts(ctx, &res, runs)
}

// ours posts refund dispositions to the starter until every remediation
// has closed Completed.
func (b *bench) ours(ctx context.Context) (phaseResult, []closedRun, error) {
	fmt.Fprintf(b.logw, "ours: %d refund webhooks, %d at a time ...\n", b.cfg.n, b.cfg.concurrency)
	post := func(kind string) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			return b.http.post(ctx, b.txn(kind, i), "started", "")
		}
	}
	prefix := func(kind string) string { return remediation.WorkflowID(b.txnPrefix(kind)) }
	if err := b.warm(ctx, post("warm"), idQuery(remediation.WorkflowType, prefix("warm"))); err != nil {
		return phaseResult{}, nil, fmt.Errorf("ours warm-up: %w", err)
	}
	res, runs, err := b.measure(ctx, "ours", post("run"), remediation.WorkflowType, prefix("run"),
		func(i int) string { return remediation.WorkflowID(b.txn("run", i)) })
	if err != nil {
		return res, nil, fmt.Errorf("ours: %w", err)
	}
	completed, err := count(ctx, b.w.client, idQuery(remediation.WorkflowType, prefix("run"))+" AND "+remediation.AttrState+" = 'Completed'")
	if err != nil {
		return res, nil, err
	}
	if completed != int64(b.cfg.n) {
		return res, nil, fmt.Errorf("ours: %d of %d remediations have RemediationState Completed", completed, b.cfg.n)
	}
	if err := b.checkLedger(ctx, b.cfg.warmup+b.cfg.n); err != nil {
		return res, nil, fmt.Errorf("ours: %w", err)
	}
	if res.WorkerPeakRSSMiB, err = peakRSSMiB(b.w.worker.PID()); err != nil {
		return res, nil, err
	}
	if res.StarterPeakRSSMiB, err = peakRSSMiB(b.w.starter.PID()); err != nil {
		return res, nil, err
	}
	return res, runs, b.addHistoryCosts(ctx, &res, runs)
}

// dedupe posts each completed transaction of ours once more: Genesys
// redelivering a webhook. Every answer must be a duplicate, nothing may
// start, and no history may grow.
func (b *bench) dedupe(ctx context.Context, ours []closedRun) (phaseResult, error) {
	fmt.Fprintf(b.logw, "dedupe: %d duplicate webhooks, %d at a time ...\n", b.cfg.n, b.cfg.concurrency)
	res := phaseResult{Name: "dedupe", What: "duplicate posts of completed refunds to the starter", N: b.cfg.n, Concurrency: b.cfg.concurrency}
	var calls []call
	cpu, err := b.cpuDuring(func() error {
		calls = drive(ctx, b.cfg.n, b.cfg.concurrency, func(ctx context.Context, i int) error {
			return b.http.post(ctx, b.txn("run", i), "duplicate", string(remediation.StateCompleted))
		})
		return failures(calls)
	})
	if err != nil {
		return res, fmt.Errorf("dedupe: %w", err)
	}
	res.CPUSeconds = cpu
	first, last := span(calls)
	res.setThroughput(b.cfg.n, last.Sub(first))
	res.AcceptP50Ms, res.AcceptP99Ms = percentile(latencies(calls), 50), percentile(latencies(calls), 99)

	after, err := listClosed(ctx, b.w.client, idQuery(remediation.WorkflowType, remediation.WorkflowID(b.txnPrefix("run"))))
	if err != nil {
		return res, err
	}
	if len(after) != len(ours) {
		return res, fmt.Errorf("dedupe: %d remediations after the duplicates, %d before", len(after), len(ours))
	}
	var before, now int64
	for i := range ours {
		before += ours[i].historyLength
		now += after[i].historyLength
	}
	// Every billable action leaves an event; no new event, no new action.
	res.EventsPerWorkflow = round(float64(now-before)/float64(b.cfg.n), 2)
	res.BillablePerWorkflow = 0
	if now != before {
		return res, fmt.Errorf("dedupe: duplicates added %d history events", now-before)
	}
	if err := b.checkLedger(ctx, b.cfg.warmup+b.cfg.n); err != nil {
		return res, fmt.Errorf("dedupe: %w", err)
	}
	if res.StarterPeakRSSMiB, err = peakRSSMiB(b.w.starter.PID()); err != nil {
		return res, err
	}
	return res, nil
}

// warm runs the unmeasured warm-up through the same path and waits for it.
func (b *bench) warm(ctx context.Context, do func(context.Context, int) error, query string) error {
	if b.cfg.warmup == 0 {
		return nil
	}
	if err := failures(drive(ctx, b.cfg.warmup, b.cfg.concurrency, do)); err != nil {
		return err
	}
	return waitAllClosed(ctx, b.w.client, query, b.cfg.warmup)
}

// measure runs n calls of do and waits until the n workflows they start
// have closed; throughput and time to completion come from the close
// times Temporal recorded.
func (b *bench) measure(ctx context.Context, name string, do func(context.Context, int) error,
	workflowType, idPrefix string, workflowID func(i int) string) (phaseResult, []closedRun, error) {
	res := phaseResult{Name: name, N: b.cfg.n, Concurrency: b.cfg.concurrency}
	query := idQuery(workflowType, idPrefix)
	var calls []call
	cpu, err := b.cpuDuring(func() error {
		calls = drive(ctx, b.cfg.n, b.cfg.concurrency, do)
		if err := failures(calls); err != nil {
			return err
		}
		return waitAllClosed(ctx, b.w.client, query, b.cfg.n)
	})
	if err != nil {
		return res, nil, err
	}
	res.CPUSeconds = cpu
	runs, err := listClosed(ctx, b.w.client, query)
	if err != nil {
		return res, nil, err
	}
	if len(runs) != b.cfg.n {
		return res, nil, fmt.Errorf("%d workflows listed, want %d", len(runs), b.cfg.n)
	}
	closeOf := make(map[string]time.Time, len(runs))
	var lastClose time.Time
	for _, r := range runs {
		closeOf[r.workflowID] = r.close
		if r.close.After(lastClose) {
			lastClose = r.close
		}
	}
	toCompleted := make([]time.Duration, len(calls))
	for i, c := range calls {
		closed, ok := closeOf[workflowID(i)]
		if !ok {
			return res, nil, fmt.Errorf("workflow %s not listed", workflowID(i))
		}
		toCompleted[i] = closed.Sub(c.sent)
	}
	first, _ := span(calls)
	res.setThroughput(b.cfg.n, lastClose.Sub(first))
	res.AcceptP50Ms, res.AcceptP99Ms = percentile(latencies(calls), 50), percentile(latencies(calls), 99)
	p50, p99 := percentile(toCompleted, 50), percentile(toCompleted, 99)
	res.CompletedP50Ms, res.CompletedP99Ms = &p50, &p99
	return res, runs, nil
}

// addHistoryCosts reads every history of the phase.
func (b *bench) addHistoryCosts(ctx context.Context, res *phaseResult, runs []closedRun) error {
	costs, err := historyCosts(ctx, b.w.client, runs)
	if err != nil {
		return err
	}
	events, billable := make([]int, len(costs)), make([]int, len(costs))
	for i, c := range costs {
		events[i], billable[i] = c.events, c.billable
		res.MaxBillable = max(res.MaxBillable, c.billable)
	}
	res.EventsPerWorkflow, res.BillablePerWorkflow = mean(events), mean(billable)
	return nil
}

// cpuDuring runs fn and returns the CPU seconds each process used meanwhile.
func (b *bench) cpuDuring(fn func() error) (map[string]float64, error) {
	procs := map[string]int{"temporal": b.w.temporal.PID(), "sandbox": b.w.sandbox.PID(),
		"worker": b.w.worker.PID(), "starter": b.w.starter.PID(), "bench": selfPID()}
	if pid := b.w.bare.PID(); pid != 0 {
		procs["bare-worker"] = pid
	}
	before := map[string]float64{}
	for name, pid := range procs {
		s, err := cpuSeconds(pid)
		if err != nil {
			return nil, err
		}
		before[name] = s
	}
	if err := fn(); err != nil {
		return nil, err
	}
	used := map[string]float64{}
	for name, pid := range procs {
		s, err := cpuSeconds(pid)
		if err != nil {
			return nil, err
		}
		used[name] = round(s-before[name], 2)
	}
	return used, nil
}
