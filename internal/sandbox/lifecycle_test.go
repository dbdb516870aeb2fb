package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const testEventToken = "test-gateway-event-token"

// starterStub stands in for one of the starter's gateway-event routes: it
// checks the caller as the starter does (verify; refusal is its answer
// otherwise) and records the events of type E it accepted.
type starterStub[E any] struct {
	mu       sync.Mutex
	events   []E
	refused  int
	failNext int // answer 503 to this many calls first
	now      func() time.Time
	ts       *httptest.Server
}

func newEventStub[E any](t *testing.T, path string, refusal int, verify func(st *starterStub[E], r *http.Request, body []byte) bool) *starterStub[E] {
	st := &starterStub[E]{now: time.Now}
	st.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		if st.failNext > 0 {
			st.failNext--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		if !verify(st, r, raw) {
			st.refused++
			w.WriteHeader(refusal)
			return
		}
		var ev E
		if err := json.Unmarshal(raw, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		st.events = append(st.events, ev)
		_, _ = w.Write([]byte(`{"status":"delivered"}`))
	}))
	t.Cleanup(st.ts.Close)
	return st
}

// newStarterStub is the ERP route: the Bearer as the starter checks it.
func newStarterStub(t *testing.T) *starterStub[erpEventBody] {
	return newEventStub(t, "/v1/gateway-events/erp", http.StatusUnauthorized, func(_ *starterStub[erpEventBody], r *http.Request, _ []byte) bool {
		return r.Header.Get("Authorization") == "Bearer "+testEventToken
	})
}

// acceptedFor counts the ERP events the stub accepted for txn.
func acceptedFor(st *starterStub[erpEventBody], txn string) int {
	n := 0
	for _, ev := range st.got() {
		if ev.TransactionID == txn {
			n++
		}
	}
	return n
}

func (st *starterStub[E]) got() []E {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]E(nil), st.events...)
}

func lifecycleHarness(t *testing.T, mutate func(*Config)) (*harness, *starterStub[erpEventBody], string) {
	st := newStarterStub(t)
	h := newHarness(t, func(c *Config) {
		c.SettleAfter = 2 * time.Second
		c.WebhookDelay = 3 * time.Second
		c.WebhookURL = st.ts.URL
		c.GatewayEventToken = testEventToken
		if mutate != nil {
			mutate(c)
		}
	})
	h.srv.sleep = func(time.Duration, <-chan struct{}) {}
	return h, st, h.token(testClient, testSecret)
}

// flush sends every webhook due now and waits until none is on its way.
func (h *harness) flush() {
	h.t.Helper()
	h.srv.step(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.srv.mu.Lock()
		busy := false
		for _, wh := range h.srv.ledger.Webhooks {
			if wh.State == webhookSending {
				busy = true
			}
		}
		h.srv.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatal("webhooks still sending after 5s")
}

func (h *harness) status(tok, ref string) response {
	h.t.Helper()
	return h.do(http.MethodGet, "/erp/refunds/"+ref, map[string]string{"Authorization": "Bearer " + tok}, "")
}

func TestPendingThenSucceeded(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, nil)
	r := h.refund(tok, "PENDING-1:refund", refundBody("PENDING-1", "10.00"))
	ref, _ := r.body["refundId"].(string)
	if r.status != http.StatusCreated || r.body["status"] != "pending" || ref == "" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	if s := h.status(tok, ref); s.status != http.StatusOK || s.body["status"] != "pending" {
		t.Fatalf("status read: %d %s", s.status, s.raw)
	}
	if s := h.status("wrong", ref); s.status != http.StatusUnauthorized {
		t.Errorf("status read without a valid token: %d", s.status)
	}
	if s := h.status(tok, "rf_unknown"); s.status != http.StatusNotFound {
		t.Errorf("unknown refund: %d", s.status)
	}
	h.flush()
	h.advance(2 * time.Second)
	h.flush()
	if s := h.status(tok, ref); s.body["status"] != "succeeded" {
		t.Fatalf("after the delay: %s", s.raw)
	}
	again := h.refund(tok, "PENDING-1:refund", refundBody("PENDING-1", "10.00"))
	if again.body["refundId"] != ref || again.body["status"] != "succeeded" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s", again.raw)
	}
	v := h.txn("PENDING-1")
	if v.RefundsCreated != 1 || v.GatewayStatus() != "succeeded" {
		t.Fatalf("ledger: %+v", v)
	}
	sub := v.Submissions[0]
	if len(sub.History) != 2 || sub.History[0].Status != "pending" || sub.History[1].Status != "succeeded" || sub.StatusReads != 2 {
		t.Errorf("history %+v, reads %d", sub.History, sub.StatusReads)
	}
	evs := st.got()
	if len(evs) != 2 || evs[0].Status != "pending" || evs[1].Status != "succeeded" || evs[1].RefundID != ref ||
		evs[1].TransactionID != "PENDING-1" || evs[0].EventID == evs[1].EventID || evs[1].OccurredAt == "" {
		t.Fatalf("webhooks: %+v", evs)
	}
	if at, err := time.Parse(time.RFC3339, evs[1].OccurredAt); err != nil || !at.Equal(sub.History[1].At) {
		t.Errorf("occurredAt %q, history %v", evs[1].OccurredAt, sub.History[1].At)
	}
	for _, wh := range v.Webhooks {
		if wh.State != webhookDelivered || wh.Answer != "delivered" || wh.Attempts != 1 {
			t.Errorf("webhook record: %+v", wh)
		}
	}
}

func TestPendFailThenRenewedKeySucceeds(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, nil)
	r := h.refund(tok, "PENDFAIL-1:refund", refundBody("PENDFAIL-1", "10.00"))
	ref, _ := r.body["refundId"].(string)
	h.advance(3 * time.Second)
	s := h.status(tok, ref)
	if s.body["status"] != "failed" || s.body["reason"] != reasonPendFail {
		t.Fatalf("after the delay: %s", s.raw)
	}
	// The old key replays the failed refund, as a gateway does.
	if again := h.refund(tok, "PENDFAIL-1:refund", refundBody("PENDFAIL-1", "10.00")); again.body["status"] != "failed" || again.body["refundId"] != ref {
		t.Fatalf("replay: %s", again.raw)
	}
	renewed := h.refund(tok, "PENDFAIL-1:refund:r2", refundBody("PENDFAIL-1", "10.00"))
	if renewed.status != http.StatusCreated || renewed.body["status"] != "created" || renewed.body["refundId"] == ref {
		t.Fatalf("renewed key: %d %s", renewed.status, renewed.raw)
	}
	h.flush()
	v := h.txn("PENDFAIL-1")
	if v.RefundsCreated != 2 || v.GatewayStatus() != "succeeded" {
		t.Fatalf("ledger: %+v", v)
	}
	if evs := st.got(); len(evs) != 2 || evs[1].Status != "failed" || evs[1].Reason != reasonPendFail {
		t.Fatalf("webhooks: %+v", evs)
	}
}

func TestReversedAfterSuccess(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, nil)
	r := h.refund(tok, "REVERSE-1:refund", refundBody("REVERSE-1", "10.00"))
	if r.body["status"] != "succeeded" {
		t.Fatalf("create: %s", r.raw)
	}
	h.flush()
	h.advance(2 * time.Second)
	h.flush()
	v := h.txn("REVERSE-1")
	if v.GatewayStatus() != "reversed" || v.Submissions[0].StatusReason != reasonReverse {
		t.Fatalf("ledger: %+v", v.Submissions[0])
	}
	if evs := st.got(); len(evs) != 2 || evs[0].Status != "succeeded" || evs[1].Status != "reversed" {
		t.Fatalf("webhooks: %+v", evs)
	}
}

func TestPlainRefundSucceedsWithoutWebhook(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, nil)
	r := h.refund(tok, "OK-1:refund", refundBody("OK-1", "10.00"))
	if r.body["status"] != "created" {
		t.Fatalf("create: %s", r.raw)
	}
	if s := h.status(tok, r.body["refundId"].(string)); s.body["status"] != "succeeded" {
		t.Fatalf("status: %s", s.raw)
	}
	h.advance(time.Hour)
	h.flush()
	if evs := st.got(); len(evs) != 0 {
		t.Fatalf("webhooks for a plain refund: %+v", evs)
	}
}

func TestWebhookFaultRules(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, nil)
	for _, txn := range []string{"PENDING-DROP-1", "PENDING-DUP-1", "PENDING-REORDER-1", "PENDING-BADSIG-1", "PENDING-LATE-1"} {
		h.refund(tok, txn+":refund", refundBody(txn, "10.00"))
	}
	h.flush()
	h.advance(2 * time.Second)
	h.flush()
	h.advance(reorderGap)
	h.flush()
	byTxn := map[string][]erpEventBody{}
	for _, ev := range st.got() {
		byTxn[ev.TransactionID] = append(byTxn[ev.TransactionID], ev)
	}
	if n := len(byTxn["PENDING-DROP-1"]); n != 0 {
		t.Errorf("dropped: %d delivered", n)
	}
	copies := map[string]int{}
	for _, ev := range byTxn["PENDING-DUP-1"] {
		copies[ev.EventID]++
	}
	if len(copies) != 2 || len(byTxn["PENDING-DUP-1"]) != 4 {
		t.Errorf("duplicated: %+v", byTxn["PENDING-DUP-1"])
	}
	if d := byTxn["PENDING-REORDER-1"]; len(d) != 2 || d[0].Status != "succeeded" || d[1].Status != "pending" {
		t.Errorf("reordered: %+v", d)
	}
	// Each forgery is refused; the genuine event beside it is taken.
	if n := len(byTxn["PENDING-BADSIG-1"]); n != 2 || st.refused != 2 {
		t.Errorf("bad signature: %d genuine accepted, %d forgeries refused", n, st.refused)
	}
	// Delayed: the pending event is due at 3s, the succeeded one at 5s.
	if d := byTxn["PENDING-LATE-1"]; len(d) != 0 {
		t.Errorf("delayed, at 2.2s: %+v", d)
	}
	h.advance(3 * time.Second)
	h.flush()
	if late := acceptedFor(st, "PENDING-LATE-1"); late != 2 {
		t.Errorf("delayed at 5.2s: %d delivered", late)
	}
	stats := h.srv.ledger.Stats.Webhooks
	if stats["dropped"] != 2 || stats["duplicated"] != 2 || stats["reordered"] != 1 || stats["bad_signature"] != 2 || stats["refused"] != 2 || stats["delayed"] != 2 {
		t.Errorf("stats: %v", stats)
	}
	forged := 0
	for _, wh := range h.txn("PENDING-BADSIG-1").Webhooks {
		if wh.Fault != faultBadSignature {
			continue
		}
		forged++
		if wh.State != webhookRefused || wh.HTTPStatus != http.StatusUnauthorized || wh.Attempts != 1 {
			t.Errorf("bad signature record: %+v", wh)
		}
	}
	if forged != 2 {
		t.Errorf("%d forged webhooks recorded, want 2", forged)
	}
	// A dropped delivery comes again, as a gateway retries what was not
	// acknowledged: both events, after redeliverAfter.
	h.advance(h.srv.redeliverAfter())
	h.flush()
	if redelivered := acceptedFor(st, "PENDING-DROP-1"); redelivered != 2 {
		t.Errorf("dropped, after the redelivery: %d delivered, want 2", redelivered)
	}
}

func TestWebhookRetriesA5xx(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, nil)
	st.failNext = 2
	h.refund(tok, "PENDING-R:refund", refundBody("PENDING-R", "10.00"))
	h.flush()
	v := h.txn("PENDING-R")
	if len(v.Webhooks) != 1 || v.Webhooks[0].State != webhookDelivered || v.Webhooks[0].Attempts != 3 || len(st.got()) != 1 {
		t.Fatalf("after two 503s: %+v", v.Webhooks)
	}
	// A starter that never answers: a few attempts, then failed.
	st.ts.Close()
	h.advance(2 * time.Second)
	h.flush()
	v = h.txn("PENDING-R")
	if wh := v.Webhooks[1]; wh.State != webhookFailed || wh.Attempts != webhookAttempts || wh.Error == "" {
		t.Fatalf("unreachable starter: %+v", wh)
	}
}

func TestRandomWebhookFaults(t *testing.T) {
	t.Parallel()
	h, st, tok := lifecycleHarness(t, func(c *Config) { c.WebhookFaultDrop = 1 })
	h.refund(tok, "PENDING-X:refund", refundBody("PENDING-X", "10.00"))
	h.advance(2 * time.Second)
	h.flush()
	if len(st.got()) != 0 || h.srv.ledger.Stats.Webhooks["dropped"] != 2 || h.srv.ledger.Stats.Faults["webhook_dropped"] != 2 {
		t.Fatalf("drop rate 1: %v", h.srv.ledger.Stats)
	}
	if _, err := New(Config{Clients: "a:b", TokenTTL: time.Second, WebhookFaultDrop: 0.6, WebhookFaultDelay: 0.6}, nil); err == nil {
		t.Error("webhook fault rates above 1 together were accepted")
	}
}

func TestNoWebhookURLRecordsUnsent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.SettleAfter = time.Second })
	tok := h.token(testClient, testSecret)
	h.refund(tok, "PENDING-U:refund", refundBody("PENDING-U", "10.00"))
	h.advance(time.Second)
	if v := h.txn("PENDING-U"); v.GatewayStatus() != "succeeded" || len(v.Webhooks) != 2 || v.Webhooks[0].State != webhookUnsent {
		t.Fatalf("without a webhook URL: %+v", v)
	}
}

func TestLifecycleSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	h, _, tok := lifecycleHarness(t, nil)
	ref := h.refund(tok, "PENDING-S:refund", refundBody("PENDING-S", "10.00")).body["refundId"].(string)
	if err := h.srv.Save(path); err != nil {
		t.Fatal(err)
	}
	// The pending event was never sent: the restarted sandbox sends it.
	restarted, st, tok2 := lifecycleHarness(t, nil)
	if err := restarted.srv.Load(path); err != nil {
		t.Fatal(err)
	}
	if s := restarted.status(tok2, ref); s.body["status"] != "pending" {
		t.Fatalf("after restart: %s", s.raw)
	}
	restarted.advance(2 * time.Second)
	restarted.flush()
	if s := restarted.status(tok2, ref); s.body["status"] != "succeeded" {
		t.Fatalf("settled after restart: %s", s.raw)
	}
	if evs := st.got(); len(evs) != 2 || evs[0].Status != "pending" || evs[1].Status != "succeeded" {
		t.Fatalf("webhooks after restart: %+v", evs)
	}
}
