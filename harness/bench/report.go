package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// phaseResult is one phase's figures. Pointers are absent where the phase
// has no such figure (a duplicate starts nothing, so has no completion).
type phaseResult struct {
	Name        string `json:"name"`
	What        string `json:"what"`
	N           int    `json:"n"`
	Concurrency int    `json:"concurrency"`
	Rounds      int    `json:"rounds"`
	// WallSeconds sums, over the rounds, the span from the first request
	// to the last workflow's close (dedupe: to the last answer).
	WallSeconds float64 `json:"wallSeconds"`
	Throughput  float64 `json:"throughputPerSecond"`
	// Accept is the webhook's latency (baseline: the start call's).
	AcceptP50Ms float64 `json:"acceptP50Ms"`
	AcceptP99Ms float64 `json:"acceptP99Ms"`
	// Completed runs from the request to the workflow's close.
	CompletedP50Ms      *float64 `json:"completedP50Ms,omitempty"`
	CompletedP99Ms      *float64 `json:"completedP99Ms,omitempty"`
	WorkerPeakRSSMiB    float64  `json:"workerPeakRssMiB,omitempty"`
	StarterPeakRSSMiB   float64  `json:"starterPeakRssMiB,omitempty"`
	EventsPerWorkflow   float64  `json:"historyEventsPerWorkflow"`
	BillablePerWorkflow float64  `json:"billableActionsPerWorkflow"`
	MaxBillable         int      `json:"maxBillableActions"`
	// FirstTaskWaitP50Ms is how long a new workflow's first task waited
	// for a worker (eager workflow start would skip it), from histories.
	FirstTaskWaitP50Ms float64 `json:"firstWorkflowTaskWaitP50Ms,omitempty"`
	// ActivityWaitP50Ms is how long an activity task on the workflow's
	// queue waited for a worker (eager activity execution skips it), from
	// histories.
	ActivityWaitP50Ms float64 `json:"activityTaskWaitP50Ms,omitempty"`
	// GenesysActivityWait* are those waits of the activities on the paced
	// Genesys queue alone, which eager execution cannot reach.
	GenesysActivityWaitP50Ms float64 `json:"genesysActivityTaskWaitP50Ms,omitempty"`
	GenesysActivityWaitP99Ms float64 `json:"genesysActivityTaskWaitP99Ms,omitempty"`
	// SandboxConnections are the worker's connections to the sandbox at the
	// end of the phase: one pooled client per remote shows as a few open
	// and next to none closed.
	SandboxConnections *connections `json:"sandboxConnections,omitempty"`
	// CPUSeconds is the CPU each process used during the measured part.
	CPUSeconds map[string]float64 `json:"cpuSeconds"`
}

func (r *phaseResult) setThroughput(n int, wall time.Duration) {
	r.WallSeconds = round(wall.Seconds(), 3)
	if wall > 0 {
		r.Throughput = round(float64(n)/wall.Seconds(), 1)
	}
}

// target is one of the targets as this run met it or not.
type target struct {
	Name string  `json:"name"`
	Want string  `json:"want"`
	Got  float64 `json:"got"`
	Met  bool    `json:"met"`
}

type report struct {
	When        time.Time   `json:"when"`
	Environment environment `json:"environment"`
	Command     string      `json:"command"`
	N           int         `json:"n"`
	Concurrency int         `json:"concurrency"`
	Warmup      int         `json:"warmup"`
	Rounds      int         `json:"rounds"`
	ServerArgs  []string    `json:"serverArgs,omitempty"`
	WorkerEnv   []string    `json:"workerEnv,omitempty"`
	SandboxEnv  []string    `json:"sandboxEnv,omitempty"`
	Baseline    phaseResult `json:"baseline"`
	Ours        phaseResult `json:"ours"`
	Dedupe      phaseResult `json:"dedupe"`
	// Pending is the refund the gateway takes as pending and settles later
	// (its webhook), measured apart: its time to Completed is the
	// sandbox's settle delay, its cost is what the lifecycle adds.
	Pending phaseResult `json:"pending"`
	// Burst is the shift's end against Genesys's rate limit (burst.go).
	Burst []burstResult `json:"burst,omitempty"`
	// Ratios are ours over baseline, except dedupeOverOursRate.
	Ratios  map[string]float64 `json:"ratios"`
	Targets []target           `json:"targets"`
}

func newReport(cfg config) *report {
	return &report{
		When: time.Now().UTC(), Environment: describeEnvironment(cfg),
		Command: "go run ./harness/bench " + strings.Join(os.Args[1:], " "),
		N:       cfg.n, Concurrency: cfg.concurrency, Warmup: cfg.warmup, Rounds: cfg.rounds,
		ServerArgs: cfg.serverArgs, WorkerEnv: cfg.workerEnv, SandboxEnv: cfg.sandboxEnv,
	}
}

// compare fills the ratios and checks the targets.
func (r *report) compare() {
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return round(a/b, 2)
	}
	b, o, d := r.Baseline, r.Ours, r.Dedupe
	r.Ratios = map[string]float64{
		"throughput":         ratio(o.Throughput, b.Throughput),
		"acceptP50":          ratio(o.AcceptP50Ms, b.AcceptP50Ms),
		"acceptP99":          ratio(o.AcceptP99Ms, b.AcceptP99Ms),
		"completedP50":       ratio(*o.CompletedP50Ms, *b.CompletedP50Ms),
		"completedP99":       ratio(*o.CompletedP99Ms, *b.CompletedP99Ms),
		"workerPeakRss":      ratio(o.WorkerPeakRSSMiB, b.WorkerPeakRSSMiB),
		"historyEvents":      ratio(o.EventsPerWorkflow, b.EventsPerWorkflow),
		"billableActions":    ratio(o.BillablePerWorkflow, b.BillablePerWorkflow),
		"dedupeOverOursRate": ratio(d.Throughput, o.Throughput),
	}
	r.Targets = []target{
		{Name: "throughput ours / baseline", Want: ">= 0.8", Got: r.Ratios["throughput"], Met: r.Ratios["throughput"] >= 0.8},
		{Name: "billable actions, happy refund (max)", Want: "<= 4", Got: float64(o.MaxBillable), Met: o.MaxBillable <= 4},
		{Name: "dedupe rate / new-refund rate", Want: ">= 5", Got: r.Ratios["dedupeOverOursRate"], Met: r.Ratios["dedupeOverOursRate"] >= 5},
	}
}

// printReport writes the table docs/benchmark.md shows.
func printReport(w io.Writer, r *report) {
	e := r.Environment
	fmt.Fprintf(w, "\nRefundflow benchmark, %s: %d cores, %s, N=%d in %d alternating rounds, concurrency %d, warm-up %d, commit %s\n\n",
		r.When.Format("2006-01-02 15:04 UTC"), e.CPUs, e.GoVersion, r.N, r.Rounds, r.Concurrency, r.Warmup, e.Commit)
	opt := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", *p)
	}
	mib := func(v float64) string {
		if v == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", v)
	}
	fmt.Fprintln(w, "| | baseline (bare Temporal) | ours (webhook to Completed) | ours / baseline | dedupe (duplicate webhook) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	b, o, d := r.Baseline, r.Ours, r.Dedupe
	rows := []struct{ name, b, o, ratio, d string }{
		{"throughput (per s)", f1(b.Throughput), f1(o.Throughput), f2(r.Ratios["throughput"]), f1(d.Throughput)},
		{"webhook latency p50 (ms; baseline: start call)", f1(b.AcceptP50Ms), f1(o.AcceptP50Ms), f2(r.Ratios["acceptP50"]), f1(d.AcceptP50Ms)},
		{"webhook latency p99 (ms; baseline: start call)", f1(b.AcceptP99Ms), f1(o.AcceptP99Ms), f2(r.Ratios["acceptP99"]), f1(d.AcceptP99Ms)},
		{"time to Completed p50 (ms)", opt(b.CompletedP50Ms), opt(o.CompletedP50Ms), f2(r.Ratios["completedP50"]), "n/a"},
		{"time to Completed p99 (ms)", opt(b.CompletedP99Ms), opt(o.CompletedP99Ms), f2(r.Ratios["completedP99"]), "n/a"},
		{"worker peak RSS (MiB)", mib(b.WorkerPeakRSSMiB), mib(o.WorkerPeakRSSMiB), f2(r.Ratios["workerPeakRss"]), "n/a"},
		{"starter peak RSS (MiB)", "n/a (no starter)", mib(o.StarterPeakRSSMiB), "", mib(d.StarterPeakRSSMiB) + " (since start)"},
		{"history events per workflow", f1(b.EventsPerWorkflow), f1(o.EventsPerWorkflow), f2(r.Ratios["historyEvents"]), f1(d.EventsPerWorkflow) + " added"},
		{"billable actions per workflow (max)", fmt.Sprintf("%.1f (%d)", b.BillablePerWorkflow, b.MaxBillable),
			fmt.Sprintf("%.1f (%d)", o.BillablePerWorkflow, o.MaxBillable), f2(r.Ratios["billableActions"]), "0 added"},
		{"worker to sandbox TCP connections: open / closed in the last minute", "n/a", conns(o.SandboxConnections), "", "n/a"},
		{"first workflow task wait p50 (ms)", f1(b.FirstTaskWaitP50Ms), f1(o.FirstTaskWaitP50Ms), "", "n/a"},
		{"activity task wait p50, workflow's queue (ms)", f1(b.ActivityWaitP50Ms), f1(o.ActivityWaitP50Ms), "", "n/a"},
		{"activity task wait, Genesys queue, p50 / p99 (ms)", "n/a", f1(o.GenesysActivityWaitP50Ms) + " / " + f1(o.GenesysActivityWaitP99Ms), "", "n/a"},
		{"CPU s, Temporal server", cpu(b, "temporal"), cpu(o, "temporal"), "", cpu(d, "temporal")},
		{"CPU s, worker", cpu(b, "bare-worker"), cpu(o, "worker"), "", cpu(d, "worker")},
		{"CPU s, starter / sandbox / bench", "- / - / " + cpu(b, "bench"),
			cpu(o, "starter") + " / " + cpu(o, "sandbox") + " / " + cpu(o, "bench"), "",
			cpu(d, "starter") + " / " + cpu(d, "sandbox") + " / " + cpu(d, "bench")},
		{"CPU s, anything else on the machine", cpu(b, "other"), cpu(o, "other"), "", cpu(d, "other")},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.name, row.b, row.o, row.ratio, row.d)
	}
	p := r.Pending
	fmt.Fprintf(w, "\n| pending path (gateway answers pending, settles by webhook) | N | throughput (per s) | time to Completed p50 / p99 (ms) | history events per workflow | billable actions per workflow (max) |\n")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	fmt.Fprintf(w, "| %s | %d | %s | %s / %s | %s | %.1f (%d) |\n", p.What, p.N, f1(p.Throughput), opt(p.CompletedP50Ms), opt(p.CompletedP99Ms),
		f1(p.EventsPerWorkflow), p.BillablePerWorkflow, p.MaxBillable)
	fmt.Fprintln(w)
	for _, t := range r.Targets {
		mark := "MET"
		if !t.Met {
			mark = "NOT MET"
		}
		fmt.Fprintf(w, "target %-40s want %-6s got %-6g %s\n", t.Name, t.Want, t.Got, mark)
	}
	if len(r.ServerArgs)+len(r.WorkerEnv)+len(r.SandboxEnv) > 0 {
		fmt.Fprintf(w, "server args %v, worker env %v, sandbox env %v\n", r.ServerArgs, r.WorkerEnv, r.SandboxEnv)
	}
}

func conns(c *connections) string {
	if c == nil {
		return "n/a"
	}
	return fmt.Sprintf("%d / %d", c.Established, c.TimeWait)
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// cpu is a process's CPU seconds in a phase ("-" when it did not run).
func cpu(p phaseResult, name string) string {
	v, ok := p.CPUSeconds[name]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

// writeReport writes the JSON twice: dated, and as latest.json.
func writeReport(dir string, r *report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	data = append(data, '\n')
	path := filepath.Join(dir, "bench-"+r.When.Format("20060102-150405")+".json")
	for _, p := range []string{path, filepath.Join(dir, "latest.json")} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", p, err)
		}
	}
	return path, nil
}
