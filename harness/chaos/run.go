package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
)

// runner carries one run from the first post to the report.
type runner struct {
	cfg      Config
	seed     uint64
	progress io.Writer
	world    *world
	plan     *plan
	caller   *caller
	rng      *rand.Rand
	sent     *deliveries

	started    time.Time
	streamTook time.Duration
	streamSent int
	crashes    []crash
	decisions  []decision
	rests      []rest
}

// Run is one chaos run: it starts the system, breaks it while traffic
// flows, lets finance ops decide, then counts the money. It returns an
// error only when the run itself could not be carried out; what the system
// got wrong is in the report's violations.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	root, err := stack.RepoRoot()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	dir := filepath.Join(cfg.Out, started.Format("20060102-150405"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	p := newPlan(cfg.planShape(), seed)
	w, err := startWorld(ctx, cfg, root, dir, filepath.Join(cfg.Out, "bin"), p.FourEyesAgent, seed, progress)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	r := &runner{
		cfg: cfg, seed: seed, progress: progress, world: w, started: started, plan: p,
		caller: newCaller(w.StarterURL()),
		rng:    rand.New(rand.NewPCG(seed, seed>>1|1)),
	}
	r.sent = newDeliveries(r.plan.Posts)
	fmt.Fprintf(progress, "chaos run: %d posts (%d transactions), %d clients, gateway %s, seed %d, in %s\n", r.plan.Posts, len(r.plan.Txns), cfg.Clients, cfg.Gateway, seed, dir)

	if err := r.stream(ctx); err != nil {
		return nil, err
	}
	want := r.acceptedTransactions()
	after, err := w.settle(ctx, "after the stream", want, nil, cfg.SettleTimeout, progress)
	if err != nil {
		return nil, err
	}
	r.rests = append(r.rests, after)
	if err := r.decide(ctx, after.Reviews); err != nil {
		return nil, err
	}
	final, err := w.settle(ctx, "after the decisions", want, r.acceptedDecisions(), cfg.SettleTimeout, progress)
	if err != nil {
		return nil, err
	}
	r.rests = append(r.rests, final)

	fmt.Fprintf(progress, "posting %d duplicates after the run\n", len(r.plan.AfterRun))
	var late []slot
	for _, p := range r.plan.AfterRun {
		late = append(late, slot{p})
	}
	r.caller.sendSlots(ctx, w.secrets.webhookToken, p.QueueID, late, cfg.Clients, r.sent)

	fmt.Fprintln(progress, "reading visibility, every history and the sandbox ledger")
	sc := newScanner(w.secrets, r.plan.PANs)
	facts, err := r.observe(ctx, sc)
	if err != nil {
		return nil, err
	}
	// The logs are complete only once the programs have stopped.
	_ = w.Stop()
	if err := facts.scanLogs(w, sc); err != nil {
		return nil, err
	}
	rep := r.report(facts, dir, time.Since(started))
	if err := writeJSON(filepath.Join(dir, "report.json"), rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// stream posts the main traffic with the crash schedule running alongside.
func (r *runner) stream(ctx context.Context) error {
	streamCrashes, _ := crashPlan(r.cfg)
	posts := 0
	for _, s := range r.plan.Stream {
		posts += len(s)
	}
	fmt.Fprintf(r.progress, "posting %d dispositions with %d clients; crashes planned: %d during the stream\n", posts, r.cfg.Clients, len(streamCrashes))
	progressFn := func() float64 { return float64(r.sent.done.Load()) / float64(posts) }
	struck := make(chan []crash, 1)
	go func() {
		struck <- r.world.strikeDuringStream(ctx, streamCrashes, r.cfg.ServerDown, progressFn, r.progress)
	}()
	start := time.Now()
	r.caller.sendSlots(ctx, r.world.secrets.webhookToken, r.plan.QueueID, r.plan.Stream, r.cfg.Clients, r.sent)
	took := time.Since(start)
	r.streamTook, r.streamSent = took, posts
	r.crashes = append(r.crashes, <-struck...)
	fmt.Fprintf(r.progress, "  stream answered in %s (%.0f posts/s)\n", took.Round(time.Millisecond), float64(posts)/took.Seconds())
	return ctx.Err()
}

// acceptedTransactions is how many workflows there must be: one for every
// financial transaction the starter accepted.
func (r *runner) acceptedTransactions() int {
	accepted := map[string]bool{}
	for _, d := range r.sent.all() {
		if d.Post.Txn.Class.financial() && (d.Final.Code == 202 || d.Final.Status == "duplicate") {
			accepted[d.Post.Txn.ID] = true
		}
	}
	return len(accepted)
}

// acceptedDecisions maps each workflow to the decisionIds the finance API
// answered 202 for.
func (r *runner) acceptedDecisions() map[string][]string {
	out := map[string][]string{}
	for _, d := range r.decisions {
		if d.Code == 202 {
			id := remediation.WorkflowID(d.Txn)
			out[id] = append(out[id], d.DecisionID)
		}
	}
	return out
}

// decide plays finance ops on the reviews at rest, with the decision
// phase's worker kill striking midway.
func (r *runner) decide(ctx context.Context, reviewIDs []string) error {
	byWorkflow := map[string]*txnPlan{}
	for _, t := range r.plan.Txns {
		byWorkflow[remediation.WorkflowID(t.ID)] = t
	}
	var reviews []*txnPlan
	inReview := map[string]bool{}
	for _, id := range reviewIDs {
		inReview[id] = true
		if t := byWorkflow[id]; t != nil {
			reviews = append(reviews, t)
		}
	}
	r.rng.Shuffle(len(reviews), func(i, j int) { reviews[i], reviews[j] = reviews[j], reviews[i] })
	done, err := r.world.listExecutions(ctx, "ExecutionStatus = 'Completed' AND RemediationState = 'Completed'")
	if err != nil {
		return err
	}
	sort.Slice(done, func(i, j int) bool { return done[i].WorkflowID < done[j].WorkflowID })
	// A reopened transaction has a Completed run and one in review: only
	// one whose every run ended Completed gets a stale decision.
	var completed []*txnPlan
	for _, e := range done {
		if t := byWorkflow[e.WorkflowID]; t != nil && !inReview[e.WorkflowID] && !slices.Contains(completed, t) {
			completed = append(completed, t)
		}
	}
	fourEyes, first, later := planDecisions(r.rng, r.plan.FourEyesAgent, reviews, completed)
	_, crashes := crashPlan(r.cfg)
	fmt.Fprintf(r.progress, "finance decisions on %d reviews: %d four-eyes attempts, %d decisions, %d repeats and stale ones later; crashes planned: %d\n",
		len(reviews), len(fourEyes), len(first), len(later), len(crashes))
	r.decisions = append(r.decisions, r.sendDecisions(ctx, fourEyes)...)
	half := len(first) / 2
	for half > 0 && half < len(first) && first[half].Copy != "" {
		half++ // a concurrent copy stays with its original
	}
	r.decisions = append(r.decisions, r.sendDecisions(ctx, first[:half])...)
	struck := make(chan []crash, 1)
	go func() {
		var out []crash
		for _, c := range crashes {
			c.At = 1
			out = append(out, r.world.strike(ctx, c, r.cfg.ServerDown, r.progress))
		}
		struck <- out
	}()
	r.decisions = append(r.decisions, r.sendDecisions(ctx, first[half:])...)
	r.crashes = append(r.crashes, <-struck...)
	r.decisions = append(r.decisions, r.sendDecisions(ctx, later)...)
	return ctx.Err()
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
