// Command bench measures the whole Refundflow pipeline, webhook included,
// against a bare Temporal workflow doing the same amount of Temporal work,
// in one run, on one fresh dev server.
//
// It builds sandbox, worker and starter, runs each as its own process (as
// an operator runs them), and runs three phases at the same concurrency:
//
//  1. baseline: N bare workflows (two no-op activities and one
//     search-attribute upsert, the history shape of a happy refund), started
//     directly with the starter's start options and run by a worker process
//     with the refundflow worker's options (this binary, -role=bare-worker);
//  2. ours: N refund dispositions posted to the starter, until every
//     remediation has closed Completed;
//  3. dedupe: N duplicate posts of the transactions phase 2 completed.
//
// Results are printed as a table and written as JSON under -out.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, so the test can run it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if cfg.role == roleBareWorker {
		if err := runBareWorker(ctx, stderr); err != nil {
			fmt.Fprintln(stderr, "bench bare-worker:", err)
			return 1
		}
		return 0
	}
	var rep *report
	if cfg.burstOnly {
		rep = newReport(cfg)
	} else if rep, err = runBenchmark(ctx, cfg, stderr); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if cfg.burstN > 0 {
		if rep.Burst, err = runBursts(ctx, cfg, stderr); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	if !cfg.burstOnly {
		printReport(stdout, rep)
	}
	printBursts(stdout, rep.Burst)
	path, err := writeReport(cfg.outDir, rep)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nwritten to %s\n", path)
	return 0
}
