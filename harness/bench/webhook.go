package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/refundflow/refundflow/internal/stack"
)

// keptAlive is the stack's API over kept-alive connections: one per
// request in flight, so the benchmark measures the starter, not TCP
// handshakes.
func keptAlive(api stack.API, concurrency int) stack.API {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency
	t.MaxIdleConnsPerHost = concurrency
	api.HTTP = &http.Client{Transport: t, Timeout: 30 * time.Second}
	return api
}

// post sends the disposition of a refund for txn, as Genesys's Data Action
// would, and checks the answer's status ("started" or "duplicate") and,
// when given, the state.
func (b *bench) post(ctx context.Context, txn, wantStatus, wantState string) error {
	r, err := b.api.PostDisposition(ctx, stack.Disposition(txn, "Refund_Processed", "49.99"))
	if err != nil {
		return fmt.Errorf("post %s: %w", txn, err)
	}
	if r.Body["status"] != wantStatus || (wantState != "" && r.Body["state"] != wantState) {
		return fmt.Errorf("post %s: %d %s, want %s %s", txn, r.Code, r.Raw, wantStatus, wantState)
	}
	return nil
}

// checkLedger asks the sandbox whether exactly want refunds were created,
// none twice: the money moved once per transaction.
func (b *bench) checkLedger(ctx context.Context, want int) error {
	l, err := b.api.Ledger(ctx)
	if err != nil {
		return err
	}
	if s := l.Summary; s.RefundsCreated != want || len(s.MultipleCreations) > 0 {
		return fmt.Errorf("sandbox ledger: %d refunds created, want %d; created more than once: %v", s.RefundsCreated, want, s.MultipleCreations)
	}
	return nil
}
