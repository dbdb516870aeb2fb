package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testPayPalWebhookID = "TESTWEBHOOK42"

// paypalEvent is what the starter reads of a PayPal webhook event.
type paypalEvent struct {
	ID        string `json:"id"`
	EventType string `json:"event_type"`
	Resource  struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		CustomID string `json:"custom_id"`
	} `json:"resource"`
}

// newPayPalStarterStub is the PayPal route: as the starter does, it asks
// the sandbox's verify-webhook-signature (with its own token) whether the
// delivery is genuine. h is set once the sandbox exists.
func newPayPalStarterStub(t *testing.T, h **harness) *starterStub[paypalEvent] {
	return newEventStub(t, "/v1/gateway-events/paypal", http.StatusBadRequest, func(_ *starterStub[paypalEvent], r *http.Request, raw []byte) bool {
		body, _ := json.Marshal(map[string]any{
			"auth_algo":         r.Header.Get("PAYPAL-AUTH-ALGO"),
			"cert_url":          r.Header.Get("PAYPAL-CERT-URL"),
			"transmission_id":   r.Header.Get("PAYPAL-TRANSMISSION-ID"),
			"transmission_sig":  r.Header.Get("PAYPAL-TRANSMISSION-SIG"),
			"transmission_time": r.Header.Get("PAYPAL-TRANSMISSION-TIME"),
			"webhook_id":        testPayPalWebhookID,
			"webhook_event":     json.RawMessage(raw),
		})
		req, _ := http.NewRequest(http.MethodPost, (*h).ts.URL+"/paypal/v1/notifications/verify-webhook-signature", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+(*h).paypalToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var v struct {
			VerificationStatus string `json:"verification_status"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode == http.StatusOK && v.VerificationStatus == "SUCCESS"
	})
}

func paypalHarness(t *testing.T) (*harness, *starterStub[paypalEvent]) {
	var h *harness
	st := newPayPalStarterStub(t, &h)
	h = newHarness(t, func(c *Config) {
		c.SettleAfter = 2 * time.Second
		c.WebhookDelay = 3 * time.Second
		c.WebhookURL = st.ts.URL
		c.PayPalWebhookID = testPayPalWebhookID
	})
	h.srv.sleep = func(time.Duration, <-chan struct{}) {}
	return h, st
}

// paypalToken is a token from the PayPal side's own token endpoint.
func (h *harness) paypalToken() string {
	h.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/paypal/v1/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClient, testSecret)
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil || tok.AccessToken == "" {
		h.t.Fatalf("paypal token: status %d", resp.StatusCode)
	}
	return tok.AccessToken
}

func (h *harness) paypal(method, path, tok, requestID, body string) response {
	h.t.Helper()
	header := map[string]string{"Authorization": "Bearer " + tok, "Prefer": "return=representation"}
	if requestID != "" {
		header["PayPal-Request-Id"] = requestID
	}
	if body != "" {
		header["Content-Type"] = "application/json"
	}
	return h.do(method, "/paypal"+path, header, body)
}

func paypalRefundBody(value, currency, customID string) string {
	return `{"amount":{"value":"` + value + `","currency_code":"` + currency + `"},"custom_id":"` + customID + `"}`
}

// specViolationNotes are the ledger's words on the spec violations.
func (h *harness) specViolationNotes() []string {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	return append([]string(nil), h.srv.ledger.Stats.SpecViolationNotes...)
}

func TestPayPalRefundReplayedByRequestID(t *testing.T) {
	h, _ := paypalHarness(t)
	tok := h.paypalToken()
	const capture = "2GG279541U471931P"
	first := h.paypal(http.MethodPost, "/v2/payments/captures/"+capture+"/refund", tok, capture+":refund", paypalRefundBody("49.99", "USD", capture))
	if first.status != http.StatusCreated || first.body["status"] != "COMPLETED" || first.body["custom_id"] != capture {
		t.Fatalf("refund: %d %s", first.status, first.raw)
	}
	again := h.paypal(http.MethodPost, "/v2/payments/captures/"+capture+"/refund", tok, capture+":refund", paypalRefundBody("49.99", "USD", capture))
	if again.status != http.StatusCreated || again.body["id"] != first.body["id"] {
		t.Fatalf("replay: %d %s, want refund %v again", again.status, again.raw, first.body["id"])
	}
	if v := h.txn(capture); v.RefundsCreated != 1 || v.Submissions[0].Replays != 1 {
		t.Fatalf("ledger: %d created, %+v", v.RefundsCreated, v.Submissions)
	}
	got := h.paypal(http.MethodGet, "/v2/payments/refunds/"+first.body["id"].(string), tok, "", "")
	if got.status != http.StatusOK || got.body["status"] != "COMPLETED" {
		t.Fatalf("GET refund: %d %s", got.status, got.raw)
	}
	cap := h.paypal(http.MethodGet, "/v2/payments/captures/"+capture, tok, "", "")
	if cap.status != http.StatusOK || cap.body["status"] != "PARTIALLY_REFUNDED" {
		t.Fatalf("GET capture: %d %s", cap.status, cap.raw)
	}
	order := cap.body["supplementary_data"].(map[string]any)["related_ids"].(map[string]any)["order_id"].(string)
	o := h.paypal(http.MethodGet, "/v2/checkout/orders/"+order, tok, "", "")
	if o.status != http.StatusOK || !strings.Contains(o.raw, `"custom_id":"`+capture+`"`) {
		t.Fatalf("GET order: %d %s", o.status, o.raw)
	}
	if n, notes := h.specViolations(), h.specViolationNotes(); n != 0 {
		t.Fatalf("spec violations: %d %v", n, notes)
	}
}

// TestPayPalSpecCatchesWrongBodies proves the validator can fail: bodies
// PayPal's spec refuses are answered 400 and counted, and nothing is made.
func TestPayPalSpecCatchesWrongBodies(t *testing.T) {
	h, _ := paypalHarness(t)
	tok := h.paypalToken()
	const capture = "8MC585209K746392H"
	for _, tc := range []struct{ name, body string }{
		{"value as a JSON number", `{"amount":{"value":49.99,"currency_code":"USD"},"custom_id":"X"}`},
		{"no currency_code", `{"amount":{"value":"49.99"},"custom_id":"X"}`},
		{"value with a comma", `{"amount":{"value":"49,99","currency_code":"USD"}}`},
		{"custom_id too long", `{"amount":{"value":"1.00","currency_code":"USD"},"custom_id":"` + strings.Repeat("A", 128) + `"}`},
	} {
		r := h.paypal(http.MethodPost, "/v2/payments/captures/"+capture+"/refund", tok, capture+":refund", tc.body)
		if r.status != http.StatusBadRequest || r.body["name"] != "INVALID_REQUEST" {
			t.Errorf("%s: %d %s, want 400 INVALID_REQUEST", tc.name, r.status, r.raw)
		}
	}
	n, notes := h.specViolations(), h.specViolationNotes()
	if n != 4 {
		t.Fatalf("spec violations: %d %v, want 4", n, notes)
	}
	if v := h.txn(capture); v.RefundsCreated != 0 {
		t.Fatalf("a refused request made a refund: %+v", v.Submissions)
	}
	// The verify request's own rules: webhook_id is [a-zA-Z0-9]+.
	r := h.paypal(http.MethodPost, "/v1/notifications/verify-webhook-signature", tok, "",
		`{"auth_algo":"SHA256withRSA","cert_url":"https://example.com/c","transmission_id":"abc123","transmission_sig":"sig123","transmission_time":"2026-11-25T09:00:00Z","webhook_id":"not-alnum!","webhook_event":{"id":"WH-1"}}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("verify with a bad webhook_id: %d %s", r.status, r.raw)
	}
}

func TestPayPalDecimalsAndIssues(t *testing.T) {
	h, _ := paypalHarness(t)
	tok := h.paypalToken()
	cases := []struct {
		capture, value, currency string
		status                   int
		issue                    string
	}{
		{"JP1CURJPY", "4999", "JPY", http.StatusCreated, ""},
		{"JP2CURJPY", "49.99", "JPY", http.StatusUnprocessableEntity, "DECIMALS_NOT_SUPPORTED"},
		{"HU1CURHUF", "1500", "HUF", http.StatusCreated, ""},
		{"US1", "10.005", "USD", http.StatusUnprocessableEntity, "DECIMAL_PRECISION"},
		{"US2", "10.00", "EUR", http.StatusUnprocessableEntity, "REFUND_CAPTURE_CURRENCY_MISMATCH"},
		{"FULLREF1", "10.00", "USD", http.StatusUnprocessableEntity, "CAPTURE_FULLY_REFUNDED"},
		{"TIMELIM1", "10.00", "USD", http.StatusUnprocessableEntity, "REFUND_TIME_LIMIT_EXCEEDED"},
		{"DISPUTE1", "10.00", "USD", http.StatusUnprocessableEntity, "TRANSACTION_DISPUTED"},
		{"US3", "100000.01", "USD", http.StatusUnprocessableEntity, "REFUND_AMOUNT_EXCEEDED"},
		{"MISSING1", "10.00", "USD", http.StatusNotFound, "INVALID_RESOURCE_ID"},
		{"KW1CURKWD", "1.500", "KWD", http.StatusNotFound, "INVALID_RESOURCE_ID"},
	}
	for _, c := range cases {
		r := h.paypal(http.MethodPost, "/v2/payments/captures/"+c.capture+"/refund", tok, c.capture+":refund", paypalRefundBody(c.value, c.currency, c.capture))
		issue := ""
		if d, ok := r.body["details"].([]any); ok && len(d) > 0 {
			issue, _ = d[0].(map[string]any)["issue"].(string)
		}
		if r.status != c.status || issue != c.issue {
			t.Errorf("%s %s %s: %d %q (%s), want %d %q", c.capture, c.value, c.currency, r.status, issue, r.raw, c.status, c.issue)
		}
	}
	if n, notes := h.specViolations(), h.specViolationNotes(); n != 0 {
		t.Fatalf("spec violations: %d %v", n, notes)
	}
}

func TestPayPalPendingSettlesWithVerifiedWebhooks(t *testing.T) {
	h, st := paypalHarness(t)
	tok := h.paypalToken()
	const capture = "PENDXBADSIG1"
	r := h.paypal(http.MethodPost, "/v2/payments/captures/"+capture+"/refund", tok, capture+":refund", paypalRefundBody("20.00", "USD", capture))
	if r.status != http.StatusCreated || r.body["status"] != "PENDING" {
		t.Fatalf("refund: %d %s", r.status, r.raw)
	}
	h.flush()
	h.advance(2 * time.Second)
	h.flush()
	h.advance(time.Second)
	h.flush()
	var statuses []string
	for _, ev := range st.got() {
		if ev.Resource.CustomID == capture {
			statuses = append(statuses, ev.Resource.Status)
		}
	}
	if strings.Join(statuses, ",") != "PENDING,COMPLETED" {
		t.Fatalf("verified events %v, want PENDING,COMPLETED", statuses)
	}
	st.mu.Lock()
	refused := st.refused
	st.mu.Unlock()
	if refused != 2 {
		t.Fatalf("forged deliveries refused: %d, want 2 (one per event)", refused)
	}
	if n, notes := h.specViolations(), h.specViolationNotes(); n != 0 {
		t.Fatalf("spec violations (webhook bodies included): %d %v", n, notes)
	}
}

func TestPayPalReversalAndFailure(t *testing.T) {
	h, st := paypalHarness(t)
	tok := h.paypalToken()
	h.paypal(http.MethodPost, "/v2/payments/captures/REVS1/refund", tok, "REVS1:refund", paypalRefundBody("5.00", "USD", "REVS1"))
	h.paypal(http.MethodPost, "/v2/payments/captures/PFAIL1/refund", tok, "PFAIL1:refund", paypalRefundBody("5.00", "USD", "PFAIL1"))
	deny := h.paypal(http.MethodPost, "/v2/payments/captures/DENY1/refund", tok, "DENY1:refund", paypalRefundBody("5.00", "USD", "DENY1"))
	if deny.body["status"] != "FAILED" {
		t.Fatalf("DENY: %s", deny.raw)
	}
	renewed := h.paypal(http.MethodPost, "/v2/payments/captures/PFAIL1/refund", tok, "PFAIL1:refund:r2", paypalRefundBody("5.00", "USD", "PFAIL1"))
	if renewed.body["status"] != "COMPLETED" {
		t.Fatalf("renewed key: %s", renewed.raw)
	}
	h.flush()
	h.advance(2 * time.Second)
	h.flush()
	types := map[string][]string{}
	for _, ev := range st.got() {
		types[ev.Resource.CustomID] = append(types[ev.Resource.CustomID], ev.EventType+"/"+ev.Resource.Status)
	}
	if got := strings.Join(types["REVS1"], ","); got != "PAYMENT.CAPTURE.REFUNDED/COMPLETED,PAYMENT.CAPTURE.REVERSED/CANCELLED" {
		t.Errorf("REVS1 events: %s", got)
	}
	if got := strings.Join(types["PFAIL1"], ","); got != "PAYMENT.CAPTURE.REFUNDED/PENDING,PAYMENT.CAPTURE.REFUNDED/FAILED" {
		t.Errorf("PFAIL1 events: %s", got)
	}
	if n, notes := h.specViolations(), h.specViolationNotes(); n != 0 {
		t.Fatalf("spec violations: %d %v", n, notes)
	}
}

// TestPayPalSabotageIgnoresTheRequestID proves the chaos run's double
// refund check can fail on the PayPal side too.
func TestPayPalSabotageIgnoresTheRequestID(t *testing.T) {
	var h *harness
	st := newPayPalStarterStub(t, &h)
	h = newHarness(t, func(c *Config) { c.IgnoreIdempotencyKey = true; c.WebhookURL = st.ts.URL })
	tok := h.paypalToken()
	for range 2 {
		h.paypal(http.MethodPost, "/v2/payments/captures/SAB1/refund", tok, "SAB1:refund", paypalRefundBody("5.00", "USD", "SAB1"))
	}
	if v := h.txn("SAB1"); v.RefundsCreated != 2 || v.GatewayRequests != 2 {
		t.Fatalf("sabotage: %d refunds from %d requests, want 2 and 2", v.RefundsCreated, v.GatewayRequests)
	}
}

// TestPayPalForgetsRequestIDs: after the key window a replayed key makes a
// second refund, which is what the worker's lookup before create guards.
func TestPayPalForgetsRequestIDs(t *testing.T) {
	h, _ := paypalHarness(t)
	tok := h.paypalToken()
	h.paypal(http.MethodPost, "/v2/payments/captures/OLD1/refund", tok, "OLD1:refund", paypalRefundBody("5.00", "USD", "OLD1"))
	if r := h.do(http.MethodPost, "/sandbox/paypal/expire-request-ids", nil, ""); r.status != http.StatusOK {
		t.Fatalf("expire: %d", r.status)
	}
	h.paypal(http.MethodPost, "/v2/payments/captures/OLD1/refund", tok, "OLD1:refund", paypalRefundBody("5.00", "USD", "OLD1"))
	if v := h.txn("OLD1"); v.RefundsCreated != 2 {
		t.Fatalf("refunds after the window: %d, want 2 (PayPal forgot the key)", v.RefundsCreated)
	}
}
