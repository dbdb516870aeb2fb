package main

import (
	"context"
	"fmt"
	"time"

	"github.com/refundflow/refundflow/internal/reconcile"
)

// reconciliation is the run's money set against the gateway's ledger the
// way finance would: the starter's reconciliation export of the whole run
// against the sandbox ledger, through internal/reconcile (what
// cmd/reconcile does). A clean run has no mismatch; any is a violation.
type reconciliation struct {
	Remediations   int                  `json:"remediations"`
	Completed      int                  `json:"completed"`
	GatewayRefunds int                  `json:"gatewayRefunds"`
	Succeeded      int                  `json:"gatewayRefundsSucceeded"`
	Mismatches     []reconcile.Mismatch `json:"mismatches"`
	Took           string               `json:"took"`
}

// reconcile runs while the world is still up, after everything settled.
// The window is the whole run, a minute wider on each side.
func (r *runner) reconcile(ctx context.Context) (reconciliation, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	w := reconcile.Window{From: r.started.Add(-time.Minute), To: time.Now().Add(time.Minute)}
	starter := &reconcile.Starter{BaseURL: r.world.StarterURL(), Token: r.world.secrets.approverToken}
	records, err := starter.Export(ctx, w)
	if err != nil {
		return reconciliation{}, fmt.Errorf("reconciliation: %w", err)
	}
	res, err := reconcile.Reconcile(ctx, w, records, &reconcile.SandboxLedger{BaseURL: r.world.SandboxURL}, starter)
	if err != nil {
		return reconciliation{}, fmt.Errorf("reconciliation: %w", err)
	}
	return reconciliation{Remediations: res.Remediations, Completed: res.Completed, GatewayRefunds: res.Refunds,
		Succeeded: res.Moved, Mismatches: res.Mismatches, Took: time.Since(start).Round(time.Millisecond).String()}, nil
}
