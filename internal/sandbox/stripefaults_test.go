package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// The Stripe side's POST /v1/refunds meets the same dice as the other
// sides: a 5xx or a 429 (with Retry-After) in Stripe's error shape that
// creates nothing, and a hang after the refund was made that a retry under
// the same key answers with the same refund.
func TestStripeInjectedFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config func(*Config)
		status int
		typ    string
		code   string
		fault  string
	}{
		{"5xx", func(c *Config) { c.Fault5xx = 1 }, 0, "api_error", "", "5xx"},
		{"429", func(c *Config) { c.Fault429 = 1; c.RetryAfter = 3 * time.Second }, http.StatusTooManyRequests, "invalid_request_error", "rate_limit", "stripe_429"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := stripeHarness(t)
			h.srv.mu.Lock()
			tc.config(&h.srv.cfg)
			h.srv.mu.Unlock()
			r := h.stripe(http.MethodPost, "/v1/refunds", "pi_f1:refund", refundForm("payment_intent", "pi_f1", 500))
			e, _ := r.body["error"].(map[string]any)
			if tc.status != 0 && r.status != tc.status || tc.status == 0 && r.status < 500 || e["type"] != tc.typ || (tc.code != "" && e["code"] != tc.code) {
				t.Fatalf("answer %d %s", r.status, r.raw)
			}
			if tc.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "3" {
				t.Errorf("Retry-After %q, want 3", r.header.Get("Retry-After"))
			}
			if v := h.txn("pi_f1"); v.RefundsCreated != 0 {
				t.Fatalf("an injected %d created %d refunds", r.status, v.RefundsCreated)
			}
			h.srv.mu.Lock()
			faults := h.srv.ledger.Stats.Faults
			n := faults["stripe_429"]
			if tc.fault == "5xx" {
				n = faults["stripe_500"] + faults["stripe_502"] + faults["stripe_503"]
			}
			h.srv.mu.Unlock()
			if n != 1 {
				t.Errorf("stats.faults %v: want one %s", faults, tc.fault)
			}
			// The reads stay clean: the worker's lookup is not where the
			// other sides inject either.
			if r := h.stripe(http.MethodGet, "/v1/refunds?payment_intent=pi_f1", "", nil); r.status != http.StatusOK {
				t.Errorf("list under faults: %d %s", r.status, r.raw)
			}
			if n := h.specViolations(); n != 0 {
				t.Errorf("spec violations %d", n)
			}
		})
	}
}

func TestStripeHangAfterRecordThenReplay(t *testing.T) {
	t.Parallel()
	h, _ := stripeHarness(t)
	recordedWhileHanging := make(chan int, 1)
	h.srv.sleep = func(time.Duration, <-chan struct{}) {
		h.srv.mu.Lock()
		recordedWhileHanging <- h.srv.ledger.StripeRefunds["pi_h1:refund"].Creations
		h.srv.mu.Unlock()
	}
	h.srv.mu.Lock()
	h.srv.cfg.FaultHang = 1
	h.srv.mu.Unlock()
	first := h.stripe(http.MethodPost, "/v1/refunds", "pi_h1:refund", refundForm("payment_intent", "pi_h1", 700))
	if n := <-recordedWhileHanging; n != 1 {
		t.Fatalf("creations while hanging = %d, want 1", n)
	}
	second := h.stripe(http.MethodPost, "/v1/refunds", "pi_h1:refund", refundForm("payment_intent", "pi_h1", 700))
	if first.status != http.StatusOK || second.status != http.StatusOK || first.body["id"] != second.body["id"] ||
		second.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after hang: %d %s vs %d %s", first.status, first.raw, second.status, second.raw)
	}
	v := h.txn("pi_h1")
	if v.RefundsCreated != 1 || len(v.Submissions) != 1 || v.Submissions[0].Faults["hang"] != 1 || v.Submissions[0].Requests != 2 {
		t.Fatalf("ledger: %+v", v)
	}
	h.srv.mu.Lock()
	hangs := h.srv.ledger.Stats.Faults["stripe_hang"]
	h.srv.mu.Unlock()
	if hangs != 1 {
		t.Errorf("stripe_hang %d, want 1 (a replay does not hang)", hangs)
	}
}

// X-Sandbox-Fail forces one answer, as on the other sides.
func TestStripeForcedFault(t *testing.T) {
	t.Parallel()
	h, _ := stripeHarness(t)
	header := map[string]string{"Authorization": "Bearer " + testStripeKey, "Stripe-Version": stripeAPIVersion,
		"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "pi_x1:refund", "X-Sandbox-Fail": "503"}
	r := h.do(http.MethodPost, "/stripe/v1/refunds", header, refundForm("payment_intent", "pi_x1", 100).Encode())
	if e, _ := r.body["error"].(map[string]any); r.status != http.StatusServiceUnavailable || e["type"] != "api_error" {
		t.Fatalf("forced: %d %s", r.status, r.raw)
	}
	if v := h.txn("pi_x1"); v.RefundsCreated != 0 {
		t.Fatalf("created %d", v.RefundsCreated)
	}
}
