package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/testenv"
)

// TestMain lets the test binary stand in for the bench binary when the
// benchmark re-runs itself as the bare worker.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-role="+roleBareWorker {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestBenchmarkRunsTiny runs the whole benchmark at N=20 and checks that it
// measured what it says, not how fast: the targets are for `make bench` on
// a quiet machine, never for a test.
func TestBenchmarkRunsTiny(t *testing.T) {
	testenv.Binary(t, "temporal")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if code := run(ctx, []string{"-n=20", "-concurrency=4", "-warmup=2", "-burst-n=0", "-out=" + out}, &stdout, &stderr); code != 0 {
		t.Fatalf("bench exited %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for _, p := range []phaseResult{rep.Baseline, rep.Ours, rep.Dedupe} {
		if p.N != 20 || p.Throughput <= 0 || p.AcceptP50Ms <= 0 || p.AcceptP99Ms < p.AcceptP50Ms {
			t.Errorf("%s: %+v", p.Name, p)
		}
	}
	for _, p := range []phaseResult{rep.Baseline, rep.Ours} {
		// The bare workflow exists to have the happy refund's history shape.
		if p.EventsPerWorkflow != 18 || p.BillablePerWorkflow != 4 || p.MaxBillable != 4 {
			t.Errorf("%s: %.1f events, %.1f billable actions (max %d); want 18 and 4", p.Name, p.EventsPerWorkflow, p.BillablePerWorkflow, p.MaxBillable)
		}
		// Every dev server here runs with eager activity execution
		// (internal/stack.DynamicConfig): most activities start in the
		// same server transaction that scheduled them.
		if p.ActivityWaitP50Ms != 0 {
			t.Errorf("%s: activity task wait p50 %.1fms; eager activity execution is off", p.Name, p.ActivityWaitP50Ms)
		}
		if p.CompletedP50Ms == nil || *p.CompletedP50Ms <= 0 || p.WorkerPeakRSSMiB <= 0 {
			t.Errorf("%s: completion or RSS missing: %+v", p.Name, p)
		}
	}
	if rep.Ours.StarterPeakRSSMiB <= 0 || rep.Dedupe.EventsPerWorkflow != 0 {
		t.Errorf("ours %+v, dedupe %+v", rep.Ours, rep.Dedupe)
	}
	if len(rep.Targets) != 3 || rep.Ratios["throughput"] <= 0 {
		t.Errorf("targets %+v, ratios %+v", rep.Targets, rep.Ratios)
	}
	if !strings.Contains(stdout.String(), "| throughput (per s) |") {
		t.Errorf("no table printed:\n%s", &stdout)
	}
}
