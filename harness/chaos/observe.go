package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// facts is everything the checks read, gathered once the run is over.
type facts struct {
	executions []execution
	// histories by run ID.
	histories map[string]history
	// running holds the status query of every workflow still running, by
	// workflow ID; queryErrors those that would not answer.
	running     map[string]remediation.Status
	queryErrors map[string]error
	ledger      *sandbox.LedgerView

	logFindings []finding
	logBytes    int
	// reconciliation is the export against the ledger (reconcile.go).
	reconciliation reconciliation
}

// observe reads visibility, every history, the running workflows' status
// and the sandbox ledger.
func (r *runner) observe(ctx context.Context, sc *scanner) (*facts, error) {
	w := r.world
	f := &facts{}
	var err error
	if f.executions, err = w.listExecutions(ctx, ""); err != nil {
		return nil, err
	}
	if f.histories, err = w.readHistories(ctx, f.executions, sc); err != nil {
		return nil, err
	}
	var running []string
	for _, e := range f.executions {
		if e.running() {
			running = append(running, e.WorkflowID)
		}
	}
	f.running, f.queryErrors = w.queryAll(ctx, running)
	ledgerCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if f.ledger, err = w.Ledger(ledgerCtx); err != nil {
		return nil, err
	}
	if f.reconciliation, err = r.reconcile(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// scanLogs scans every program's log, and the gateway's stored ledger, for
// secrets and card numbers. The Temporal server's log is searched for this
// run's secrets and planted card numbers only: it is not ours to mask.
func (f *facts) scanLogs(w *world, sc *scanner) error {
	files := map[string]bool{filepath.Join(w.Dir, "sandbox-ledger.json"): true}
	for _, p := range w.Processes() {
		files[p.LogPath] = p.Name != "temporal"
	}
	for path, generic := range files {
		found, n, err := sc.scanFile(path, generic)
		if err != nil {
			return fmt.Errorf("scan logs: %w", err)
		}
		f.logFindings = append(f.logFindings, found...)
		f.logBytes += n
	}
	return nil
}
