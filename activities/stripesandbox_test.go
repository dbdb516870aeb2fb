package activities

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/sandbox"
)

// These tests run the real Stripe gateway against the sandbox's Stripe
// side, which, unlike stripe-mock, keeps refunds, lets them settle later
// and checks every request against Stripe's OpenAPI spec, counting what
// the spec refuses in stats.specViolations.

const sandboxSettle = 300 * time.Millisecond

func sandboxStripe(t *testing.T) (*StripeGateway, string) {
	t.Helper()
	srv, err := sandbox.New(sandbox.Config{
		Clients: "c:s", TokenTTL: time.Minute, HangFor: time.Hour, Seed: 1,
		SettleAfter: sandboxSettle, StripeAPIKeys: "sk_test_123",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return stripeMockGateway(t, ts.URL+"/stripe"), ts.URL
}

func sandboxLedger(t *testing.T, base string) sandbox.LedgerView {
	t.Helper()
	resp, err := http.Get(base + "/sandbox/ledger")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v sandbox.LedgerView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStripeGatewayAgainstSandboxSettlesLater(t *testing.T) {
	t.Parallel()
	gw, base := sandboxStripe(t)
	ctx := t.Context()

	pending, err := gw.Submit(ctx, stripeSubmission("pi_pending_act1"))
	if err != nil || pending.GatewayStatus != "pending" || !strings.HasPrefix(pending.GatewayReference, "re_") {
		t.Fatalf("pending submit: %+v, %v", pending, err)
	}
	// Submitting again (a retry, a lost answer) finds the refund by the
	// lookup and makes no second one.
	again, err := gw.Submit(ctx, stripeSubmission("pi_pending_act1"))
	if err != nil || again.GatewayReference != pending.GatewayReference || again.GatewayStatus != "pending" {
		t.Fatalf("second submit: %+v, %v", again, err)
	}
	failing, err := gw.Submit(ctx, stripeSubmission("pi_pendfail_act1"))
	if err != nil || failing.GatewayStatus != "pending" {
		t.Fatalf("pendfail submit: %+v, %v", failing, err)
	}
	plain, err := gw.Submit(ctx, stripeSubmission("ch_plain_act1"))
	if err != nil || plain.GatewayStatus != "succeeded" {
		t.Fatalf("charge submit: %+v, %v", plain, err)
	}

	ev, err := gw.Check(ctx, SettlementCheck{TransactionID: "pi_pending_act1", GatewayReference: pending.GatewayReference, Poll: 1})
	if err != nil || ev.Status != "pending" {
		t.Fatalf("check before settling: %+v, %v", ev, err)
	}
	time.Sleep(sandboxSettle + 100*time.Millisecond)
	ev, err = gw.Check(ctx, SettlementCheck{TransactionID: "pi_pending_act1", GatewayReference: pending.GatewayReference, Poll: 2})
	if err != nil || ev.Status != "succeeded" || ev.Gateway != "stripe" {
		t.Fatalf("check settled: %+v, %v", ev, err)
	}
	ev, err = gw.Check(ctx, SettlementCheck{TransactionID: "pi_pendfail_act1", GatewayReference: failing.GatewayReference, Poll: 1})
	if err != nil || ev.Status != "failed" || ev.Reason != "expired_or_canceled_card" {
		t.Fatalf("check failed: %+v, %v", ev, err)
	}
	// The payment's currency is checked before anything is written.
	if _, err := gw.Submit(ctx, stripeSubmission("ch_curjpy_act1")); err == nil || !strings.Contains(err.Error(), "JPY") {
		t.Fatalf("currency mismatch: %v", err)
	}

	led := sandboxLedger(t, base)
	if led.Stats.SpecViolations != 0 {
		t.Errorf("the worker's requests violate Stripe's spec: %q", led.Stats.SpecViolationNotes)
	}
	if led.Summary.RefundsCreated != 3 || len(led.Summary.MultipleCreations) != 0 {
		t.Errorf("refunds created %d, multiple %v", led.Summary.RefundsCreated, led.Summary.MultipleCreations)
	}
}

// The sandbox's spec check refuses what Stripe would, and the gateway
// takes the 400 as final.
func TestStripeGatewaySandboxRefusesWhatTheSpecRefuses(t *testing.T) {
	t.Parallel()
	gw, base := sandboxStripe(t)
	gw.editForm = func(f url.Values) { f.Set("amount", "abc"); f.Set("transaction_id", "x") }
	_, err := gw.Submit(t.Context(), stripeSubmission("pi_act_bad"))
	if err == nil || !strings.Contains(err.Error(), "invalid_request_error") {
		t.Fatalf("err = %v", err)
	}
	ae := asApplicationError(t, err)
	if !ae.NonRetryable() {
		t.Errorf("a spec violation is retried: %v", ae)
	}
	led := sandboxLedger(t, base)
	if led.Stats.SpecViolations != 1 || led.Summary.RefundsCreated != 0 ||
		!strings.Contains(strings.Join(led.Stats.SpecViolationNotes, " "), "transaction_id") {
		t.Errorf("stats %+v, created %d", led.Stats, led.Summary.RefundsCreated)
	}
}
