package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/stripesig"
)

const (
	testStripeKey    = "sk_test_sandbox"
	testStripeSecret = "whsec_test_sandbox"
)

// stripeEvent is what the starter reads of a Stripe event.
type stripeEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object struct {
			ID            string            `json:"id"`
			Object        string            `json:"object"`
			Status        string            `json:"status"`
			FailureReason string            `json:"failure_reason"`
			Metadata      map[string]string `json:"metadata"`
		} `json:"object"`
	} `json:"data"`
}

// newStripeStarterStub is the Stripe route: the signature as the starter
// verifies it (internal/stripesig), at the stub's now.
func newStripeStarterStub(t *testing.T) *starterStub[stripeEvent] {
	return newEventStub(t, "/v1/gateway-events/stripe", http.StatusBadRequest, func(st *starterStub[stripeEvent], r *http.Request, raw []byte) bool {
		return stripesig.Verify(r.Header.Get("Stripe-Signature"), raw, [][]byte{[]byte(testStripeSecret)}, st.now())
	})
}

func stripeHarness(t *testing.T) (*harness, *starterStub[stripeEvent]) {
	st := newStripeStarterStub(t)
	h := newHarness(t, func(c *Config) {
		c.SettleAfter = 2 * time.Second
		c.WebhookDelay = 3 * time.Second
		c.WebhookURL = st.ts.URL
		c.StripeAPIKeys = testStripeKey
		c.StripeWebhookSecret = testStripeSecret
	})
	h.srv.sleep = func(time.Duration, <-chan struct{}) {}
	st.now = h.srv.now
	return h, st
}

func (h *harness) stripe(method, path, key string, form url.Values) response {
	h.t.Helper()
	header := map[string]string{"Authorization": "Bearer " + testStripeKey, "Stripe-Version": stripeAPIVersion}
	if key != "" {
		header["Idempotency-Key"] = key
	}
	body := ""
	if form != nil {
		header["Content-Type"] = "application/x-www-form-urlencoded"
		body = form.Encode()
	}
	return h.do(method, "/stripe"+path, header, body)
}

// refundForm is the worker's POST /v1/refunds form.
func refundForm(param, payment string, amount int) url.Values {
	return url.Values{
		param:                      {payment},
		"amount":                   {strconv.Itoa(amount)},
		"reason":                   {"requested_by_customer"},
		"metadata[transaction_id]": {payment},
		"metadata[disposition]":    {"Refund_Processed"},
	}
}

func (h *harness) specViolations() int {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	return h.srv.ledger.Stats.SpecViolations
}

func TestStripePendingThenSucceededWithSignedWebhooks(t *testing.T) {
	t.Parallel()
	h, st := stripeHarness(t)
	pi := "pi_pending_1"
	r := h.stripe(http.MethodGet, "/v1/payment_intents/"+pi, "", nil)
	if r.status != 200 || r.body["currency"] != "usd" || r.body["object"] != "payment_intent" {
		t.Fatalf("payment intent: %d %s", r.status, r.raw)
	}
	r = h.stripe(http.MethodGet, "/v1/refunds?limit=100&payment_intent="+pi, "", nil)
	if r.status != 200 || r.body["object"] != "list" || len(r.body["data"].([]any)) != 0 {
		t.Fatalf("empty list: %d %s", r.status, r.raw)
	}
	r = h.stripe(http.MethodPost, "/v1/refunds", pi+":refund", refundForm("payment_intent", pi, 4999))
	if r.status != 200 || r.body["status"] != "pending" || r.body["object"] != "refund" || !strings.HasPrefix(r.body["id"].(string), "re_") {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	if r.body["payment_intent"] != pi || r.body["charge"] != "ch_pending_1" || r.body["amount"] != 4999.0 || r.body["currency"] != "usd" {
		t.Fatalf("refund fields: %s", r.raw)
	}
	replay := h.stripe(http.MethodPost, "/v1/refunds", pi+":refund", refundForm("payment_intent", pi, 4999))
	if replay.status != 200 || replay.body["id"] != id || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", replay.status, replay.raw)
	}
	h.flush()
	h.advance(2 * time.Second)
	r = h.stripe(http.MethodGet, "/v1/refunds/"+id, "", nil)
	if r.status != 200 || r.body["status"] != "succeeded" {
		t.Fatalf("check: %d %s", r.status, r.raw)
	}
	r = h.stripe(http.MethodGet, "/v1/refunds?limit=100&payment_intent="+pi, "", nil)
	data := r.body["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["id"] != id || r.body["has_more"] != false {
		t.Fatalf("list: %s", r.raw)
	}
	h.flush()
	got := st.got()
	if len(got) != 2 || got[0].Type != "refund.created" || got[0].Data.Object.Status != "pending" ||
		got[1].Type != "refund.updated" || got[1].Data.Object.Status != "succeeded" ||
		got[1].Data.Object.ID != id || got[1].Data.Object.Metadata["transaction_id"] != pi || got[1].Data.Object.Object != "refund" {
		t.Fatalf("webhooks: %+v (refused %d)", got, st.refused)
	}
	v := h.txn(pi)
	if v.RefundsCreated != 1 || v.GatewayStatus() != "succeeded" || len(v.Webhooks) != 2 || v.Webhooks[0].Gateway != "stripe" || v.Webhooks[1].State != webhookDelivered {
		t.Fatalf("ledger: %+v", v)
	}
	if n := h.specViolations(); n != 0 {
		t.Fatalf("spec violations %d", n)
	}
}

func TestStripePendFailAndReverse(t *testing.T) {
	t.Parallel()
	h, st := stripeHarness(t)
	fail := h.stripe(http.MethodPost, "/v1/refunds", "k1", refundForm("payment_intent", "pi_pendfail_1", 100))
	rev := h.stripe(http.MethodPost, "/v1/refunds", "k2", refundForm("charge", "ch_reverse_1", 100))
	if fail.body["status"] != "pending" || rev.body["status"] != "succeeded" || rev.body["payment_intent"] != nil || rev.body["charge"] != "ch_reverse_1" {
		t.Fatalf("created: %s / %s", fail.raw, rev.raw)
	}
	h.flush()
	h.advance(2 * time.Second)
	f := h.stripe(http.MethodGet, "/v1/refunds/"+fail.body["id"].(string), "", nil)
	r := h.stripe(http.MethodGet, "/v1/refunds/"+rev.body["id"].(string), "", nil)
	if f.body["status"] != "failed" || f.body["failure_reason"] != stripeReasonPendFail || r.body["status"] != "failed" || r.body["failure_reason"] != stripeReasonReverse {
		t.Fatalf("settled: %s / %s", f.raw, r.raw)
	}
	h.flush()
	types := map[string]int{}
	for _, ev := range st.got() {
		types[ev.Type+":"+ev.Data.Object.Status]++
	}
	if types["refund.created:pending"] != 1 || types["refund.created:succeeded"] != 1 || types["refund.failed:failed"] != 2 {
		t.Fatalf("events: %v", types)
	}
	// A failed refund moved no money: the payment can be refunded again,
	// and a renewed key follows no rule.
	again := h.stripe(http.MethodPost, "/v1/refunds", "pi_pendfail_1:refund:r1", refundForm("payment_intent", "pi_pendfail_1", 100))
	if again.status != 200 || again.body["status"] != "succeeded" {
		t.Fatalf("renewed: %s", again.raw)
	}
}

func TestStripeIdempotencyConflictAndErrors(t *testing.T) {
	t.Parallel()
	h, _ := stripeHarness(t)
	r := h.stripe(http.MethodPost, "/v1/refunds", "key-1", refundForm("payment_intent", "pi_1", 100))
	if r.status != 200 || r.body["status"] != "succeeded" {
		t.Fatalf("create: %s", r.raw)
	}
	r = h.stripe(http.MethodPost, "/v1/refunds", "key-1", refundForm("payment_intent", "pi_1", 200))
	e, _ := r.body["error"].(map[string]any)
	if r.status != 400 || e["type"] != "idempotency_error" || !strings.Contains(e["message"].(string), "key-1") {
		t.Fatalf("conflict: %d %s", r.status, r.raw)
	}
	if v := h.txn("pi_1"); v.RefundsCreated != 1 {
		t.Fatalf("created %d", v.RefundsCreated)
	}
	r = h.stripe(http.MethodGet, "/v1/refunds/re_nope", "", nil)
	if e, _ := r.body["error"].(map[string]any); r.status != 404 || e["code"] != "resource_missing" {
		t.Fatalf("missing refund: %d %s", r.status, r.raw)
	}
	r = h.stripe(http.MethodGet, "/v1/charges/ch_curjpy_1", "", nil)
	if r.status != 200 || r.body["currency"] != "jpy" {
		t.Fatalf("jpy charge: %s", r.raw)
	}
	r = h.stripe(http.MethodGet, "/v1/payment_intents/pi_missing_1", "", nil)
	if r.status != 404 {
		t.Fatalf("missing payment: %d", r.status)
	}
	r = h.stripe(http.MethodPost, "/v1/refunds", "key-2", refundForm("payment_intent", "pi_1", stripePaymentAmount))
	if e, _ := r.body["error"].(map[string]any); r.status != 400 || e["code"] != "amount_too_large" {
		t.Fatalf("too large: %d %s", r.status, r.raw)
	}
	for _, auth := range []string{"", "Bearer sk_test_other", "Bearer rk_test_sandbox"} {
		r = h.do(http.MethodGet, "/stripe/v1/refunds/re_x", map[string]string{"Authorization": auth}, "")
		if e, _ := r.body["error"].(map[string]any); r.status != 401 || e["type"] != "invalid_request_error" {
			t.Fatalf("auth %q: %d %s", auth, r.status, r.raw)
		}
	}
	if n := h.specViolations(); n != 0 {
		t.Fatalf("spec violations %d", n)
	}
}

// The spec check must be able to fail: requests Stripe refuses are refused
// and counted, and nothing is created.
func TestStripeSpecViolations(t *testing.T) {
	t.Parallel()
	h, _ := stripeHarness(t)
	badAmount := refundForm("payment_intent", "pi_1", 1)
	badAmount.Set("amount", "abc")
	unknown := refundForm("payment_intent", "pi_1", 1)
	unknown.Set("card_number", "x")
	badReason := refundForm("payment_intent", "pi_1", 1)
	badReason.Set("reason", "because")
	for name, c := range map[string]struct {
		method, path string
		form         url.Values
	}{
		"amount abc":          {http.MethodPost, "/v1/refunds", badAmount},
		"unknown body param":  {http.MethodPost, "/v1/refunds", unknown},
		"reason not in enum":  {http.MethodPost, "/v1/refunds", badReason},
		"unknown query param": {http.MethodGet, "/v1/refunds?payment_intent=pi_1&transaction=pi_1", nil},
		"limit not integer":   {http.MethodGet, "/v1/refunds?limit=many", nil},
	} {
		r := h.stripe(c.method, c.path, "", c.form)
		e, _ := r.body["error"].(map[string]any)
		if r.status != 400 || e["type"] != "invalid_request_error" || !strings.Contains(e["message"].(string), "spec") {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if n := h.specViolations(); n != 5 {
		t.Fatalf("spec violations %d, want 5", n)
	}
	if v := h.txn("pi_1"); v.RefundsCreated != 0 {
		t.Fatalf("created %d", v.RefundsCreated)
	}
	h.srv.mu.Lock()
	notes := h.srv.ledger.Stats.SpecViolationNotes
	h.srv.mu.Unlock()
	if len(notes) != 5 {
		t.Fatalf("notes %q", notes)
	}
}

func TestStripeBadSignatureWebhookIsRefused(t *testing.T) {
	t.Parallel()
	h, st := stripeHarness(t)
	r := h.stripe(http.MethodPost, "/v1/refunds", "k", refundForm("payment_intent", "pi_pending_x-BADSIG-1", 100))
	if r.status != 200 {
		t.Fatalf("create: %s", r.raw)
	}
	h.flush()
	h.advance(reorderGap)
	h.flush()
	// The forgery is refused; the genuine event beside it is taken.
	if len(st.got()) != 1 || st.refused != 1 {
		t.Fatalf("got %d, refused %d", len(st.got()), st.refused)
	}
	v := h.txn("pi_pending_x-BADSIG-1")
	if len(v.Webhooks) != 2 || v.Webhooks[0].Fault != faultBadSignature || v.Webhooks[0].State != webhookRefused ||
		v.Webhooks[1].Fault != "" || v.Webhooks[1].State != webhookDelivered {
		t.Fatalf("ledger webhooks: %+v %+v", v.Webhooks[0], v.Webhooks[len(v.Webhooks)-1])
	}
}

func TestStripeSignatureMatchesStarter(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := StripeSignature("whsec_x", now.Unix(), body)
	if !stripesig.Verify(sig, body, [][]byte{[]byte("whsec_x")}, now) {
		t.Fatal("does not verify")
	}
	if stripesig.Verify(sig, body, [][]byte{[]byte("whsec_y")}, now) || stripesig.Verify(sig, []byte(`{}`), [][]byte{[]byte("whsec_x")}, now) {
		t.Fatal("verifies with another secret or body")
	}
}

// Stripe's refunds live in the state file like the ERP's: a key replays
// after a restart, and the lifecycle carries on.
func TestStripeRefundsSurviveRestart(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/ledger.json"
	h, _ := stripeHarness(t)
	first := h.stripe(http.MethodPost, "/v1/refunds", "pi_pending_r:refund", refundForm("payment_intent", "pi_pending_r", 100))
	if err := h.srv.Save(path); err != nil {
		t.Fatal(err)
	}
	restarted, _ := stripeHarness(t)
	if err := restarted.srv.Load(path); err != nil {
		t.Fatal(err)
	}
	again := restarted.stripe(http.MethodPost, "/v1/refunds", "pi_pending_r:refund", refundForm("payment_intent", "pi_pending_r", 100))
	if again.body["id"] != first.body["id"] || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after restart: %s, before: %s", again.raw, first.raw)
	}
	restarted.advance(2 * time.Second)
	r := restarted.stripe(http.MethodGet, "/v1/refunds/"+first.body["id"].(string), "", nil)
	if r.body["status"] != "succeeded" {
		t.Fatalf("settled after restart: %s", r.raw)
	}
	if v := restarted.txn("pi_pending_r"); v.RefundsCreated != 1 || v.GatewayRequests != 2 {
		t.Fatalf("ledger after restart: %+v", v)
	}
}

// The ERP's webhook faults apply to Stripe's events by the payment's ID.
func TestStripeWebhookDuplicateAndDrop(t *testing.T) {
	t.Parallel()
	h, st := stripeHarness(t)
	h.stripe(http.MethodPost, "/v1/refunds", "a", refundForm("payment_intent", "pi_pending_d-DUP-1", 100))
	h.stripe(http.MethodPost, "/v1/refunds", "b", refundForm("payment_intent", "pi_pending_d-DROP-1", 100))
	h.flush()
	h.advance(200 * time.Millisecond) // the copy goes just after the original
	h.flush()
	got := st.got()
	if len(got) != 2 || got[0].ID != got[1].ID || got[0].Data.Object.Metadata["transaction_id"] != "pi_pending_d-DUP-1" {
		t.Fatalf("events: %+v", got)
	}
	if v := h.txn("pi_pending_d-DROP-1"); len(v.Webhooks) != 2 || v.Webhooks[0].State != webhookDropped || v.Webhooks[1].State != webhookQueued {
		t.Fatalf("dropped: %+v", v.Webhooks)
	}
	h.advance(h.srv.redeliverAfter())
	h.flush()
	if v := h.txn("pi_pending_d-DROP-1"); v.Webhooks[1].State != webhookDelivered {
		t.Fatalf("the dropped event was not delivered again: %+v", v.Webhooks[1])
	}
}
