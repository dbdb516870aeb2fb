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
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/workflows"
)

// bench is one benchmark run over one world.
type bench struct {
	cfg   config
	w     *world
	api   stack.API
	logw  io.Writer
	runID string
}

// path is one way to get a refund done: the baseline's direct start of a
// bare workflow, or our webhook.
type path struct {
	name         string
	workflowType string
	workflowID   func(txn string) string
	// request sends the one request that starts the workflow of txn.
	request func(ctx context.Context, txn string) error
}

// runBenchmark starts the world, runs the phases and compares them.
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
	b := &bench{cfg: cfg, w: w, api: keptAlive(w.API, cfg.concurrency), logw: logw,
		runID: strconv.FormatInt(time.Now().UnixNano()%1e10, 36)}
	err = b.run(ctx, rep)
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

// run measures baseline and ours in alternating rounds, so that a slow
// drift in what else the machine does weighs on both alike, then the
// duplicates.
func (b *bench) run(ctx context.Context, rep *report) error {
	if err := b.w.startBare(ctx); err != nil {
		return err
	}
	baseline, ours := b.baselinePath(), b.oursPath()
	for _, p := range []path{baseline, ours} {
		if err := b.warm(ctx, p); err != nil {
			return fmt.Errorf("%s warm-up: %w", p.name, err)
		}
	}
	var baseRounds, ourRounds []batch
	for r, n := range roundSizes(b.cfg.n, b.cfg.rounds) {
		kind := fmt.Sprintf("r%d", r+1)
		fmt.Fprintf(b.logw, "round %d of %d: %d bare workflows, then %d refund webhooks, %d at a time\n",
			r+1, b.cfg.rounds, n, n, b.cfg.concurrency)
		rd, err := b.round(ctx, baseline, kind, n)
		if err != nil {
			return fmt.Errorf("baseline, round %d: %w", r+1, err)
		}
		baseRounds = append(baseRounds, rd)
		if rd, err = b.round(ctx, ours, kind, n); err != nil {
			return fmt.Errorf("ours, round %d: %w", r+1, err)
		}
		ourRounds = append(ourRounds, rd)
	}

	var err error
	rep.Baseline = summarize("baseline", "bare workflows (2 no-op activities, 1 upsert) started directly", b.cfg, baseRounds)
	if rep.Baseline.WorkerPeakRSSMiB, err = peakRSSMiB(b.w.bare.PID()); err != nil {
		return err
	}
	_ = b.w.bare.Stop(10 * time.Second)
	rep.Ours = summarize("ours", "refund webhooks to the starter, until Completed", b.cfg, ourRounds)
	if rep.Ours.WorkerPeakRSSMiB, err = peakRSSMiB(b.w.Workers[0].PID()); err != nil {
		return err
	}
	if rep.Ours.StarterPeakRSSMiB, err = peakRSSMiB(b.w.Starters[0].PID()); err != nil {
		return err
	}
	// Read before the benchmark's own ledger request adds a connection.
	conns, err := connectionsTo(b.w.SandboxPort)
	if err != nil {
		return err
	}
	rep.Ours.SandboxConnections = &conns
	if err := b.checkOurs(ctx); err != nil {
		return err
	}
	for _, c := range []struct {
		res    *phaseResult
		rounds []batch
	}{{&rep.Baseline, baseRounds}, {&rep.Ours, ourRounds}} {
		if err := b.addHistoryCosts(ctx, c.res, c.rounds); err != nil {
			return err
		}
	}
	if rep.Dedupe, err = b.dedupe(ctx, ourRounds); err != nil {
		return err
	}
	rep.Pending, err = b.pending(ctx)
	return err
}

// pendingPrefix makes the sandbox answer a refund pending and settle it
// (succeeded) after its settle delay, by webhook (internal/sandbox's
// PENDING- rule).
const pendingPrefix = "PENDING-"

// pending runs a quarter of N (at least 20) refunds down the pending path
// and measures what the lifecycle costs: events, actions, time to
// Completed. Every one must end Completed.
func (b *bench) pending(ctx context.Context) (phaseResult, error) {
	n := max(b.cfg.n/4, 20)
	fmt.Fprintf(b.logw, "pending: %d refunds the gateway settles later, %d at a time\n", n, b.cfg.concurrency)
	p := path{
		name: "pending", workflowType: remediation.WorkflowType,
		workflowID: func(txn string) string { return remediation.WorkflowID(pendingPrefix + txn) },
		request: func(ctx context.Context, txn string) error {
			return b.post(ctx, pendingPrefix+txn, "started", "")
		},
	}
	rd, err := b.round(ctx, p, "p", n)
	if err != nil {
		return phaseResult{}, fmt.Errorf("pending: %w", err)
	}
	cfg := b.cfg
	cfg.n = n
	res := summarize("pending", "refunds taken as pending, settled by the gateway's webhook", cfg, []batch{rd})
	query := idQuery(remediation.WorkflowType, p.workflowID(b.txnPrefix("p")))
	completed, err := count(ctx, b.w.Client, query+" AND "+remediation.AttrState+" = 'Completed'")
	if err != nil {
		return res, err
	}
	if completed != int64(n) {
		return res, fmt.Errorf("pending: %d of %d remediations have RemediationState Completed", completed, n)
	}
	if err := b.addHistoryCosts(ctx, &res, []batch{rd}); err != nil {
		return res, err
	}
	return res, nil
}

// roundSizes splits n calls into rounds as evenly as can be.
func roundSizes(n, rounds int) []int {
	sizes := make([]int, rounds)
	for i := range sizes {
		sizes[i] = n / rounds
		if i < n%rounds {
			sizes[i]++
		}
	}
	return sizes
}

// txnPrefix starts every transaction ID of one kind of call ("warm", "r1",
// "r2", ...) in this run, so visibility can select exactly them.
func (b *bench) txnPrefix(kind string) string { return "B" + b.runID + "-" + kind + "-" }

// txn is the transaction ID of call i of a kind.
func (b *bench) txn(kind string, i int) string { return fmt.Sprintf("%s%06d", b.txnPrefix(kind), i) }

func (b *bench) disposition(txn string) remediation.Disposition {
	return remediation.Disposition{
		TransactionID: txn, DispositionCode: "Refund_Processed", Action: remediation.ActionRefund,
		CustomerTokenID: "tok_visa_1234", CustomerID: "C-" + txn,
		AmountText: "49.99", AmountMinor: 4999, Currency: "USD",
		ConversationID: "conv-" + txn, ParticipantID: "part-agent", CommunicationID: "comm-1",
		AgentID: stack.AgentID, QueueID: stack.CallQueueID, Timestamp: time.Now().UTC().Format(time.RFC3339),
	}
}

// baselinePath starts bare workflows directly, as the starter starts ours.
func (b *bench) baselinePath() path {
	id := func(txn string) string { return "bare-" + txn }
	return path{
		name: "baseline", workflowType: bareWorkflowType, workflowID: id,
		request: func(ctx context.Context, txn string) error {
			d := b.disposition(txn)
			// The starter's start options (starter/start.go), field for
			// field; only the ID prefix and the task queue differ.
			_, err := b.w.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                                       id(txn),
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
		},
	}
}

// oursPath posts refund dispositions to the starter.
func (b *bench) oursPath() path {
	return path{
		name: "ours", workflowType: remediation.WorkflowType, workflowID: remediation.WorkflowID,
		request: func(ctx context.Context, txn string) error {
			return b.post(ctx, txn, "started", "")
		},
	}
}

// warm runs the unmeasured warm-up through a path and waits for it:
// connections, OAuth tokens, task queues and caches are then as they are
// in a service that has been up for a while.
func (b *bench) warm(ctx context.Context, p path) error {
	if b.cfg.warmup == 0 {
		return nil
	}
	calls := drive(ctx, b.cfg.warmup, b.cfg.concurrency, func(ctx context.Context, i int) error {
		return p.request(ctx, b.txn("warm", i))
	})
	if err := failures(calls); err != nil {
		return err
	}
	return waitAllClosed(ctx, b.w.Client, idQuery(p.workflowType, p.workflowID(b.txnPrefix("warm"))), b.cfg.warmup)
}

// batch is one round's measurements of one path.
type batch struct {
	n           int
	wall        time.Duration
	accept      []time.Duration
	toCompleted []time.Duration
	runs        []closedRun
	cpu         map[string]float64
}

// round sends n requests down a path and waits until the n workflows they
// started have closed. Its span and each time to completion end at the
// close times Temporal recorded, not when the benchmark noticed them.
func (b *bench) round(ctx context.Context, p path, kind string, n int) (batch, error) {
	rd := batch{n: n}
	query := idQuery(p.workflowType, p.workflowID(b.txnPrefix(kind)))
	var calls []call
	cpu, err := b.cpuDuring(func() error {
		calls = drive(ctx, n, b.cfg.concurrency, func(ctx context.Context, i int) error {
			return p.request(ctx, b.txn(kind, i))
		})
		if err := failures(calls); err != nil {
			return err
		}
		return waitAllClosed(ctx, b.w.Client, query, n)
	})
	if err != nil {
		return rd, err
	}
	rd.cpu = cpu
	if rd.runs, err = listClosed(ctx, b.w.Client, query); err != nil {
		return rd, err
	}
	if len(rd.runs) != n {
		return rd, fmt.Errorf("%d workflows listed, want %d", len(rd.runs), n)
	}
	closeOf := make(map[string]time.Time, n)
	var lastClose time.Time
	for _, r := range rd.runs {
		closeOf[r.workflowID] = r.close
		if r.close.After(lastClose) {
			lastClose = r.close
		}
	}
	rd.accept = latencies(calls)
	rd.toCompleted = make([]time.Duration, n)
	for i, c := range calls {
		closed, ok := closeOf[p.workflowID(b.txn(kind, i))]
		if !ok {
			return rd, fmt.Errorf("workflow of %s not listed", b.txn(kind, i))
		}
		rd.toCompleted[i] = closed.Sub(c.sent)
	}
	first, _ := span(calls)
	rd.wall = lastClose.Sub(first)
	return rd, nil
}

// summarize pools a path's rounds: throughput over the rounds' summed
// spans, percentiles over every call, CPU summed.
func summarize(name, what string, cfg config, rounds []batch) phaseResult {
	res := phaseResult{Name: name, What: what, N: cfg.n, Concurrency: cfg.concurrency, Rounds: len(rounds), CPUSeconds: map[string]float64{}}
	var wall time.Duration
	var accept, toCompleted []time.Duration
	for _, rd := range rounds {
		wall += rd.wall
		accept = append(accept, rd.accept...)
		toCompleted = append(toCompleted, rd.toCompleted...)
		for k, v := range rd.cpu {
			res.CPUSeconds[k] = round2(res.CPUSeconds[k] + v)
		}
	}
	res.setThroughput(cfg.n, wall)
	res.AcceptP50Ms, res.AcceptP99Ms = percentile(accept, 50), percentile(accept, 99)
	p50, p99 := percentile(toCompleted, 50), percentile(toCompleted, 99)
	res.CompletedP50Ms, res.CompletedP99Ms = &p50, &p99
	return res
}

func round2(v float64) float64 { return round(v, 2) }

// checkOurs proves the refunds were done, once each: every remediation
// ended Completed and the sandbox created exactly one refund per
// transaction.
func (b *bench) checkOurs(ctx context.Context) error {
	query := idQuery(remediation.WorkflowType, remediation.WorkflowID("B"+b.runID+"-r"))
	completed, err := count(ctx, b.w.Client, query+" AND "+remediation.AttrState+" = 'Completed'")
	if err != nil {
		return err
	}
	if completed != int64(b.cfg.n) {
		return fmt.Errorf("ours: %d of %d remediations have RemediationState Completed", completed, b.cfg.n)
	}
	if err := b.checkLedger(ctx, b.cfg.warmup+b.cfg.n); err != nil {
		return fmt.Errorf("ours: %w", err)
	}
	return nil
}

// dedupe posts each transaction ours completed once more: Genesys
// redelivering a webhook. Every answer must be a duplicate, nothing may
// start, and no history may grow.
func (b *bench) dedupe(ctx context.Context, ourRounds []batch) (phaseResult, error) {
	fmt.Fprintf(b.logw, "dedupe: %d duplicate webhooks, %d at a time\n", b.cfg.n, b.cfg.concurrency)
	res := phaseResult{Name: "dedupe", What: "duplicate posts of completed refunds to the starter", N: b.cfg.n, Concurrency: b.cfg.concurrency, Rounds: 1}
	var txns []string
	var before int64
	for r, rd := range ourRounds {
		for i := range rd.n {
			txns = append(txns, b.txn(fmt.Sprintf("r%d", r+1), i))
		}
		for _, run := range rd.runs {
			before += run.historyLength
		}
	}
	var calls []call
	cpu, err := b.cpuDuring(func() error {
		calls = drive(ctx, len(txns), b.cfg.concurrency, func(ctx context.Context, i int) error {
			return b.post(ctx, txns[i], "duplicate", string(remediation.StateCompleted))
		})
		return failures(calls)
	})
	if err != nil {
		return res, fmt.Errorf("dedupe: %w", err)
	}
	res.CPUSeconds = cpu
	first, last := span(calls)
	res.setThroughput(len(calls), last.Sub(first))
	res.AcceptP50Ms, res.AcceptP99Ms = percentile(latencies(calls), 50), percentile(latencies(calls), 99)

	after, err := listClosed(ctx, b.w.Client, idQuery(remediation.WorkflowType, remediation.WorkflowID("B"+b.runID+"-r")))
	if err != nil {
		return res, err
	}
	if len(after) != len(txns) {
		return res, fmt.Errorf("dedupe: %d remediations after the duplicates, %d before", len(after), len(txns))
	}
	var now int64
	for _, run := range after {
		now += run.historyLength
	}
	// Every billable action leaves an event: no new event, no new action.
	if now != before {
		return res, fmt.Errorf("dedupe: duplicates added %d history events", now-before)
	}
	if err := b.checkLedger(ctx, b.cfg.warmup+b.cfg.n); err != nil {
		return res, fmt.Errorf("dedupe: %w", err)
	}
	if res.StarterPeakRSSMiB, err = peakRSSMiB(b.w.Starters[0].PID()); err != nil {
		return res, err
	}
	return res, nil
}

// addHistoryCosts reads every history of a path's rounds.
func (b *bench) addHistoryCosts(ctx context.Context, res *phaseResult, rounds []batch) error {
	var runs []closedRun
	for _, rd := range rounds {
		runs = append(runs, rd.runs...)
	}
	costs, err := historyCosts(ctx, b.w.Client, runs)
	if err != nil {
		return err
	}
	events, billable := make([]int, len(costs)), make([]int, len(costs))
	var firstTask, activities, genesys []time.Duration
	for i, c := range costs {
		events[i], billable[i] = c.events, c.billable
		res.MaxBillable = max(res.MaxBillable, c.billable)
		firstTask = append(firstTask, c.firstTaskWait)
		activities = append(activities, c.activityWaits...)
		genesys = append(genesys, c.genesysWaits...)
	}
	res.EventsPerWorkflow, res.BillablePerWorkflow = mean(events), mean(billable)
	res.FirstTaskWaitP50Ms, res.ActivityWaitP50Ms = percentile(firstTask, 50), percentile(activities, 50)
	if len(genesys) > 0 {
		res.GenesysActivityWaitP50Ms, res.GenesysActivityWaitP99Ms = percentile(genesys, 50), percentile(genesys, 99)
	}
	return nil
}

// cpuDuring runs fn and returns the CPU seconds each process used
// meanwhile, and as "other" what the rest of the machine used.
func (b *bench) cpuDuring(fn func() error) (map[string]float64, error) {
	procs := map[string]int{"temporal": b.w.Temporal.PID(), "sandbox": b.w.Sandbox.PID(),
		"worker": b.w.Workers[0].PID(), "starter": b.w.Starters[0].PID(), "bench": selfPID()}
	if pid := b.w.bare.PID(); pid != 0 {
		procs["bare-worker"] = pid
	}
	snapshot := func() (map[string]float64, error) {
		m := map[string]float64{}
		for name, pid := range procs {
			s, err := cpuSeconds(pid)
			if err != nil {
				return nil, err
			}
			m[name] = s
		}
		all, err := machineBusySeconds()
		m["machine"] = all
		return m, err
	}
	before, err := snapshot()
	if err != nil {
		return nil, err
	}
	if err := fn(); err != nil {
		return nil, err
	}
	after, err := snapshot()
	if err != nil {
		return nil, err
	}
	used := map[string]float64{}
	ours := 0.0
	for name := range procs {
		used[name] = round2(after[name] - before[name])
		ours += after[name] - before[name]
	}
	used["other"] = round2(max(after["machine"]-before["machine"]-ours, 0))
	return used, nil
}
