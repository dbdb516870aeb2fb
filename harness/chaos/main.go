// Command chaos proves Refundflow's money promise the way payment systems
// are proven: it runs the real programs against a real Temporal server with
// a file DB, posts thousands of dispositions (a quarter of them duplicates)
// through a gateway that fails, hangs and revokes tokens, SIGKILLs the
// worker, the starter and the Temporal server mid-run, plays finance ops,
// and then counts the money transaction by transaction: no double refund,
// nothing lost, no silent ending, no secret or card number in any history
// or log.
//
//	go run ./harness/chaos                 # the full run: 2000 posts, 16 clients
//	go run ./harness/chaos -n 200 -worker-kills 1
//	go run ./harness/chaos -break-idempotency   # must fail: proves the check can
//
// It prints a table, writes report.json into its run directory under -out,
// and exits 1 on any violation (2 when the run could not be carried out).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	cfg.bindFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg, os.Stderr)
	if rep != nil {
		rep.Print(os.Stdout)
		fmt.Fprintf(os.Stdout, "report: %s\n", filepath.Join(rep.Dir, "report.json"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if rep.Result != "PASS" {
		os.Exit(1)
	}
}
