package activities

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// These tests run the PayPal gateway against the sandbox's PayPal, which
// keeps refunds, settles them later, and checks every request against
// PayPal's published spec (counted in stats.specViolations). A tap in
// front of it records what went out and can answer in its place.

// paypalTap sits between the gateway and the sandbox.
type paypalTap struct {
	mu sync.Mutex
	// refundPosts are the refund requests' PayPal-Request-Id headers and
	// bodies, in order.
	requestIDs []string
	bodies     []string
	paths      []string
	// intercept, when set, may answer a request itself (true).
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool
	n         int
}

func (p *paypalTap) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

func sandboxPayPal(t *testing.T, mutate func(*sandbox.Config)) (*PayPalGateway, string, *paypalTap) {
	t.Helper()
	cfg := sandbox.Config{Clients: "pp-client:pp-secret", TokenTTL: time.Minute, HangFor: time.Hour, Seed: 1, SettleAfter: sandboxSettle, PayPalWebhookID: "WH1"}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := sandbox.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tap := &paypalTap{}
	inner := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		tap.mu.Lock()
		tap.n++
		n := tap.n
		tap.paths = append(tap.paths, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/paypal"))
		if strings.HasSuffix(r.URL.Path, "/refund") {
			tap.requestIDs = append(tap.requestIDs, r.Header.Get("PayPal-Request-Id"))
			tap.bodies = append(tap.bodies, string(body))
		}
		intercept := tap.intercept
		tap.mu.Unlock()
		if intercept != nil && intercept(w, r, n) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	gw, err := NewPayPalGateway(GatewayConfig{
		Kind: GatewayKindPayPal, PayPalBaseURL: ts.URL + "/paypal", PayPalClientID: "pp-client", PayPalClientSecret: "pp-secret",
		Timeout: 2 * time.Second,
	}, NewHTTPClient(2*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return gw, ts.URL, tap
}

func paypalSubmission(capture string, minor int64, currency string) Submission {
	s := refundSubmission()
	s.TransactionID, s.IdempotencyKey, s.AmountMinor, s.Currency = capture, capture+":refund", minor, currency
	return s
}

func wantNoSpecViolations(t *testing.T, base string) sandbox.LedgerView {
	t.Helper()
	led := sandboxLedger(t, base)
	if led.Stats.SpecViolations != 0 {
		t.Errorf("the gateway's requests violate PayPal's spec: %q", led.Stats.SpecViolationNotes)
	}
	return led
}

func TestPayPalRefundCompleted(t *testing.T) {
	t.Parallel()
	gw, base, tap := sandboxPayPal(t, nil)
	res, err := gw.Submit(t.Context(), paypalSubmission("2GG279541U471931P", 4999, "USD"))
	if err != nil || res.GatewayStatus != "completed" || res.GatewayReference == "" || res.HTTPStatus != http.StatusCreated {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	if remediation.SettlementOf(res.GatewayStatus) != remediation.SettlementSucceeded {
		t.Fatalf("COMPLETED is not final success: %q", res.GatewayStatus)
	}
	if want := `{"amount":{"value":"49.99","currency_code":"USD"},"custom_id":"2GG279541U471931P"}`; tap.bodies[0] != want {
		t.Errorf("body %s, want %s", tap.bodies[0], want)
	}
	if tap.requestIDs[0] != "2GG279541U471931P:refund" {
		t.Errorf("PayPal-Request-Id %q", tap.requestIDs[0])
	}
	// A fresh capture (status COMPLETED) has no refunds: no order read.
	if got := strings.Join(tap.calls(), ","); got != "POST /v1/oauth2/token,GET /v2/payments/captures/2GG279541U471931P,POST /v2/payments/captures/2GG279541U471931P/refund" {
		t.Errorf("calls: %s", got)
	}
	led := wantNoSpecViolations(t, base)
	if led.Summary.RefundsCreated != 1 || led.Stats.TokensIssued != 1 {
		t.Errorf("created %d, tokens %d", led.Summary.RefundsCreated, led.Stats.TokensIssued)
	}
}

func TestPayPalPendingThenPolled(t *testing.T) {
	t.Parallel()
	gw, base, _ := sandboxPayPal(t, nil)
	ctx := t.Context()
	pending, err := gw.Submit(ctx, paypalSubmission("PEND7", 2000, "USD"))
	if err != nil || pending.GatewayStatus != "pending" {
		t.Fatalf("submit: %+v, %v", pending, err)
	}
	failing, err := gw.Submit(ctx, paypalSubmission("PFAIL7", 2000, "USD"))
	if err != nil || failing.GatewayStatus != "pending" {
		t.Fatalf("submit pfail: %+v, %v", failing, err)
	}
	ev, err := gw.Check(ctx, SettlementCheck{TransactionID: "PEND7", GatewayReference: pending.GatewayReference, Poll: 1})
	if err != nil || ev.Status != "pending" || ev.EventID != "poll:1" || ev.Gateway != "paypal" {
		t.Fatalf("check before settling: %+v, %v", ev, err)
	}
	time.Sleep(sandboxSettle + 100*time.Millisecond)
	ev, err = gw.Check(ctx, SettlementCheck{TransactionID: "PEND7", GatewayReference: pending.GatewayReference, Poll: 2})
	if err != nil || remediation.SettlementOf(ev.Status) != remediation.SettlementSucceeded {
		t.Fatalf("check settled: %+v, %v", ev, err)
	}
	ev, err = gw.Check(ctx, SettlementCheck{TransactionID: "PFAIL7", GatewayReference: failing.GatewayReference, Poll: 1})
	if err != nil || remediation.SettlementOf(ev.Status) != remediation.SettlementFailed || ev.Reason != "ECHECK" {
		t.Fatalf("check failed: %+v, %v", ev, err)
	}
	// The approval after the failure renews the key: a new refund, COMPLETED.
	again := paypalSubmission("PFAIL7", 2000, "USD")
	again.IdempotencyKey = remediation.RenewedIdempotencyKey(again.IdempotencyKey, 2)
	res, err := gw.Submit(ctx, again)
	if err != nil || res.GatewayStatus != "completed" || res.GatewayReference == failing.GatewayReference {
		t.Fatalf("renewed submit: %+v, %v", res, err)
	}
	wantNoSpecViolations(t, base)
}

func TestPayPalFailedAndIssuesAreFinalAndNamed(t *testing.T) {
	t.Parallel()
	gw, base, _ := sandboxPayPal(t, nil)
	for capture, want := range map[string]string{
		"DENY1":    "is FAILED (status_details.reason ECHECK)",
		"FULLREF1": "CAPTURE_FULLY_REFUNDED (The capture has already been fully refunded)",
		"TIMELIM1": "REFUND_TIME_LIMIT_EXCEEDED",
		"DISPUTE1": "TRANSACTION_DISPUTED",
		"MISSING1": "404 Not Found RESOURCE_NOT_FOUND: INVALID_RESOURCE_ID",
	} {
		_, err := gw.Submit(t.Context(), paypalSubmission(capture, 1000, "USD"))
		ae := wantFinal(t, err, ErrGatewayRejected)
		if !strings.Contains(ae.Error(), want) || !strings.Contains(ae.Error(), "debug_id") && capture != "DENY1" {
			t.Errorf("%s: %v, want it to name %q", capture, ae, want)
		}
	}
	wantNoSpecViolations(t, base)
}

func TestPayPalRefusesWhatItCannotSend(t *testing.T) {
	t.Parallel()
	gw, _, tap := sandboxPayPal(t, nil)
	ctx := t.Context()
	cases := map[string]Submission{
		"a Stripe ID":         paypalSubmission("pi_3MtwBwLkdIwHu7ix28a3tqPa", 1000, "USD"),
		"lower case":          paypalSubmission("2gg279541u471931p", 1000, "USD"),
		"too long":            paypalSubmission("2GG279541U471931P2GG2", 1000, "USD"),
		"KWD (not at PayPal)": paypalSubmission("KW1CURKWD", 1500, "KWD"),
		"1500.50 HUF":         paypalSubmission("HU1CURHUF", 150050, "HUF"),
	}
	chargeback := paypalSubmission("2GG279541U471931P", 1000, "USD")
	chargeback.Action, chargeback.IdempotencyKey = remediation.ActionChargeback, "2GG279541U471931P:chargeback"
	cases["a chargeback"] = chargeback
	for name, s := range cases {
		_, err := gw.Submit(ctx, s)
		ae := wantFinal(t, err, ErrConfiguration)
		t.Logf("%s: %v", name, ae)
	}
	for _, want := range []string{"PayPal does not take KWD", "PayPal takes HUF with 0 decimals; 1500.50 HUF cannot be refunded there exactly", "cannot be opened by the merchant at PayPal"} {
		found := false
		for _, s := range cases {
			if _, err := gw.Submit(ctx, s); err != nil && strings.Contains(err.Error(), want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no refusal says %q", want)
		}
	}
	if calls := tap.calls(); len(calls) != 0 {
		t.Errorf("refused submissions reached PayPal: %v", calls)
	}
}

func TestPayPalDecimalsOfTheCurrency(t *testing.T) {
	t.Parallel()
	gw, base, tap := sandboxPayPal(t, nil)
	for _, c := range []struct {
		capture  string
		minor    int64
		currency string
		value    string
	}{
		{"JP1CURJPY", 4999, "JPY", "4999"},
		{"US1", 4999, "USD", "49.99"},
		{"HU1CURHUF", 150000, "HUF", "1500"}, // ISO 2 decimals, PayPal none
		{"TW1CURTWD", 99900, "TWD", "999"},
		{"EU1CUREUR", 5, "EUR", "0.05"},
	} {
		if _, err := gw.Submit(t.Context(), paypalSubmission(c.capture, c.minor, c.currency)); err != nil {
			t.Errorf("%s %d %s: %v", c.capture, c.minor, c.currency, err)
			continue
		}
		if want := `"value":"` + c.value + `","currency_code":"` + c.currency + `"`; !strings.Contains(tap.bodies[len(tap.bodies)-1], want) {
			t.Errorf("%s: body %s, want %s", c.capture, tap.bodies[len(tap.bodies)-1], want)
		}
	}
	// The disposition's currency must be the capture's.
	if _, err := gw.Submit(t.Context(), paypalSubmission("JP2CURJPY", 4999, "USD")); err == nil || !strings.Contains(err.Error(), "capture is in JPY") {
		t.Errorf("currency mismatch: %v", err)
	}
	wantNoSpecViolations(t, base)
}

func TestPayPalTokenRenewedOnceOn401(t *testing.T) {
	t.Parallel()
	// The sandbox revokes the token on its 2nd authenticated call: the
	// refund POST. One new token, one more try, one refund.
	gw, base, tap := sandboxPayPal(t, func(c *sandbox.Config) { c.TokenExpireEvery = 2 })
	res, err := gw.Submit(t.Context(), paypalSubmission("TOK1", 1000, "USD"))
	if err != nil || res.GatewayStatus != "completed" {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	led := wantNoSpecViolations(t, base)
	if led.Stats.TokensIssued != 2 || led.Summary.RefundsCreated != 1 {
		t.Errorf("tokens %d, refunds %d; calls %v", led.Stats.TokensIssued, led.Summary.RefundsCreated, tap.calls())
	}
	if ids := tap.requestIDs; len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("PayPal-Request-Id across the 401 retry: %v", ids)
	}

	// A token refused again after renewal is final.
	gw2, _, tap2 := sandboxPayPal(t, nil)
	tap2.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
			return false
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"Token signature verification failed"}`))
		return true
	}
	_, err = gw2.Submit(t.Context(), paypalSubmission("TOK2", 1000, "USD"))
	wantFinal(t, err, ErrAuthFailed)
	tokens := 0
	for _, c := range tap2.calls() {
		if strings.HasSuffix(c, "/oauth2/token") {
			tokens++
		}
	}
	if tokens != 2 {
		t.Errorf("token requests %d, want 2 (the first and one renewal): %v", tokens, tap2.calls())
	}
}

func TestPayPalRetryableAnswersKeepTheRequestID(t *testing.T) {
	t.Parallel()
	gw, base, tap := sandboxPayPal(t, nil)
	answers := []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusInternalServerError}
	tap.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if !strings.HasSuffix(r.URL.Path, "/refund") || len(answers) == 0 {
			return false
		}
		status := answers[0]
		answers = answers[1:]
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"name":"RATE_LIMIT_REACHED","message":"Too many requests","debug_id":"abc123"}`))
		return true
	}
	s := paypalSubmission("RETRY1", 1000, "USD")
	_, err := gw.Submit(t.Context(), s)
	wantRetryable(t, err, ErrGatewayUnavailable, 7*time.Second)
	for range 2 {
		_, err = gw.Submit(t.Context(), s)
		wantRetryable(t, err, ErrGatewayUnavailable, 0)
	}
	res, err := gw.Submit(t.Context(), s)
	if err != nil || res.GatewayStatus != "completed" {
		t.Fatalf("after the outage: %+v, %v", res, err)
	}
	if len(tap.requestIDs) != 4 {
		t.Fatalf("refund posts %d", len(tap.requestIDs))
	}
	for _, id := range tap.requestIDs {
		if id != "RETRY1:refund" {
			t.Errorf("PayPal-Request-Id %q across retries, want RETRY1:refund", id)
		}
	}
	wantNoSpecViolations(t, base)
}

// TestPayPalLookupBeforeCreate: a retry after a lost answer, and a replay
// after PayPal forgot the key, find the refund on the capture's order
// instead of refunding again.
func TestPayPalLookupBeforeCreate(t *testing.T) {
	t.Parallel()
	gw, base, tap := sandboxPayPal(t, nil)
	ctx := t.Context()
	s := paypalSubmission("LOOK1", 2500, "USD")
	first, err := gw.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/sandbox/paypal/expire-request-ids", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("expire: %v %v", resp, err)
	}
	resp.Body.Close()
	again, err := gw.Submit(ctx, s)
	if err != nil || again.GatewayReference != first.GatewayReference || again.GatewayStatus != "completed" {
		t.Fatalf("replay after the key window: %+v, %v (first %+v)", again, err, first)
	}
	if posts := len(tap.requestIDs); posts != 1 {
		t.Errorf("refund posts %d, want 1: the lookup answers the replay", posts)
	}
	// Another amount for a transaction PayPal already refunded is a human's.
	other := s
	other.AmountMinor, other.IdempotencyKey = 3000, "LOOK1:refund:3000"
	_, err = gw.Submit(ctx, other)
	ae := wantFinal(t, err, ErrGatewayRejected)
	if !strings.Contains(ae.Error(), "already holds refund "+first.GatewayReference+" of 25.00 USD (COMPLETED)") {
		t.Errorf("review reason: %v", ae)
	}
	led := wantNoSpecViolations(t, base)
	if led.Summary.RefundsCreated != 1 || len(led.Summary.MultipleCreations) != 0 {
		t.Errorf("refunds created %d, more than one for %v", led.Summary.RefundsCreated, led.Summary.MultipleCreations)
	}
}

// TestPayPalSpecViolationIsCaught proves the sandbox's check can fail:
// a body PayPal's spec refuses is answered 400, final, and counted.
func TestPayPalSpecViolationIsCaught(t *testing.T) {
	t.Parallel()
	gw, base, _ := sandboxPayPal(t, nil)
	gw.editBody = func(b map[string]any) { b["amount"].(map[string]any)["value"] = 49.99 }
	_, err := gw.Submit(t.Context(), paypalSubmission("SPEC1", 4999, "USD"))
	ae := wantFinal(t, err, ErrGatewayRejected)
	if !strings.Contains(ae.Error(), "INVALID_REQUEST") {
		t.Errorf("err = %v", ae)
	}
	led := sandboxLedger(t, base)
	if led.Stats.SpecViolations != 1 || led.Summary.RefundsCreated != 0 || !strings.Contains(strings.Join(led.Stats.SpecViolationNotes, " "), "value") {
		t.Errorf("stats %+v, created %d", led.Stats, led.Summary.RefundsCreated)
	}
}

// TestPayPalApprovalAfterAReversal: a refund PayPal took back no longer
// stands, so the lookup lets the approved refund (a renewed key) through.
func TestPayPalApprovalAfterAReversal(t *testing.T) {
	t.Parallel()
	gw, base, _ := sandboxPayPal(t, nil)
	ctx := t.Context()
	first, err := gw.Submit(ctx, paypalSubmission("REVS9", 1500, "USD"))
	if err != nil || first.GatewayStatus != "completed" {
		t.Fatalf("submit: %+v, %v", first, err)
	}
	time.Sleep(sandboxSettle + 100*time.Millisecond)
	again := paypalSubmission("REVS9", 1500, "USD")
	again.IdempotencyKey = remediation.RenewedIdempotencyKey(again.IdempotencyKey, 2)
	res, err := gw.Submit(ctx, again)
	if err != nil || res.GatewayStatus != "completed" || res.GatewayReference == first.GatewayReference {
		t.Fatalf("approved after the reversal: %+v, %v (first %s)", res, err, first.GatewayReference)
	}
	if led := wantNoSpecViolations(t, base); led.Summary.RefundsCreated != 2 {
		t.Errorf("refunds created %d, want 2 (the reversed one and its successor)", led.Summary.RefundsCreated)
	}
}

func TestPayPalConfigNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	err := GatewayConfig{Kind: "paypal", Timeout: time.Second, PayPalBaseURL: "https://api-m.paypal.com", PayPalClientSecret: "hunter2-secret"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_PAYPAL_CLIENT_ID") || strings.Contains(err.Error(), "REFUNDFLOW_PAYPAL_CLIENT_SECRET") ||
		strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "GATEWAY_TOKEN_URL") {
		t.Errorf("paypal: %v", err)
	}
	if err := (GatewayConfig{Kind: "PayPal", Timeout: time.Second, PayPalBaseURL: "https://api-m.paypal.com", PayPalClientID: "c", PayPalClientSecret: "s"}).Validate(); err != nil {
		t.Errorf("a complete PayPal config: %v", err)
	}
	if err := (GatewayConfig{Kind: "paypal", Timeout: time.Second, PayPalBaseURL: "api-m.paypal.com", PayPalClientID: "c", PayPalClientSecret: "s"}).Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_PAYPAL_BASE_URL") {
		t.Errorf("a relative base URL: %v", err)
	}
}

// TestPayPalAnswerLostThenRetried: PayPal made the refund but its answer
// never came (the call timed out). The error says the outcome is unknown;
// the retry, same PayPal-Request-Id, finds the refund and makes no second.
func TestPayPalAnswerLostThenRetried(t *testing.T) {
	t.Parallel()
	gw, base, tap := sandboxPayPal(t, nil)
	s := paypalSubmission("HANG1", 1200, "USD")
	_, err := gw.Submit(t.Context(), s)
	ae := wantRetryable(t, err, ErrGatewayUnavailable, 0)
	if !SubmissionOutcomeUnknown(ae) {
		t.Errorf("a timed-out refund is not marked outcome unknown: %v", ae)
	}
	res, err := gw.Submit(t.Context(), s)
	if err != nil || res.GatewayStatus != "completed" {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	led := wantNoSpecViolations(t, base)
	if led.Summary.RefundsCreated != 1 || len(led.Summary.MultipleCreations) != 0 {
		t.Errorf("refunds created %d", led.Summary.RefundsCreated)
	}
	if len(tap.requestIDs) != 1 || tap.requestIDs[0] != "HANG1:refund" {
		t.Errorf("refund posts %v: the retry should have found the refund on the order", tap.requestIDs)
	}
}

func TestPayPalAmounts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		minor    int64
		currency string
		want     string // "" for refused
	}{
		{4999, "USD", "49.99"}, {5, "EUR", "0.05"}, {100, "GBP", "1.00"},
		{4999, "JPY", "4999"}, {150000, "HUF", "1500"}, {150050, "HUF", ""},
		{99900, "TWD", "999"}, {1500, "KWD", ""}, {0, "USD", ""}, {100, "XXX", ""},
	} {
		got, err := PayPalValue(c.minor, c.currency)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("PayPalValue(%d, %s) = %q, %v; want %q", c.minor, c.currency, got, err, c.want)
		}
	}
	for _, c := range []struct {
		m               paypalMoney
		value, currency string
		same            bool
	}{
		{paypalMoney{"25.0", "USD"}, "25.00", "USD", true},
		{paypalMoney{"1500", "HUF"}, "1500", "HUF", true},
		{paypalMoney{"25.01", "USD"}, "25.00", "USD", false},
		{paypalMoney{"25.00", "EUR"}, "25.00", "USD", false},
	} {
		if got := sameAmount(c.m, c.value, c.currency); got != c.same {
			t.Errorf("sameAmount(%+v, %s %s) = %v", c.m, c.value, c.currency, got)
		}
	}
}
