package activities

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// These tests run the real Adyen gateway against the sandbox's Adyen side,
// which checks every request against Adyen's published Checkout v71 spec
// and counts what the spec refuses in stats.specViolations, or against a
// recording fake where the exact bytes on the wire matter.

const (
	testAdyenKey      = "AQEadyen-test-api-key-never-logged"
	testAdyenMerchant = "SandboxMerchantECOM"
)

func adyenConfig(base string) GatewayConfig {
	return GatewayConfig{Kind: GatewayKindAdyen, Timeout: 5 * time.Second, AdyenBaseURL: base, AdyenAPIKey: testAdyenKey, AdyenMerchantAccount: testAdyenMerchant}
}

func sandboxAdyen(t *testing.T) (*AdyenGateway, string) {
	t.Helper()
	srv, err := sandbox.New(sandbox.Config{
		Clients: "c:s", TokenTTL: time.Minute, HangFor: time.Hour, Seed: 1, SettleAfter: time.Hour,
		AdyenAPIKeys: testAdyenKey, AdyenMerchantAccount: testAdyenMerchant,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	gw, err := NewAdyenGateway(adyenConfig(ts.URL+"/adyen"), NewHTTPClient(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return gw, ts.URL
}

func adyenSubmission(psp string, minor int64, currency string) Submission {
	return Submission{
		TransactionID: psp, Action: remediation.ActionRefund, AmountMinor: minor, Currency: currency,
		DispositionCode: "Refund_Processed", IdempotencyKey: psp + ":refund", Timestamp: "2026-01-02T03:04:05Z",
	}
}

// adyenRefunds is the sandbox's Adyen ledger, and it fails the test on any
// spec violation unless some are expected.
func adyenRefunds(t *testing.T, base string, wantViolations int) map[string]*sandbox.Submission {
	t.Helper()
	v := sandboxLedger(t, base)
	if v.Stats.SpecViolations != wantViolations {
		t.Fatalf("spec violations %d, want %d: %v", v.Stats.SpecViolations, wantViolations, v.Stats.SpecViolationNotes)
	}
	return v.AdyenRefunds
}

func TestAdyenRefundIsReceivedOnceAndReplayed(t *testing.T) {
	t.Parallel()
	gw, base := sandboxAdyen(t)
	s := adyenSubmission("KX00000000000A01", 4999, "USD")
	first, err := gw.Submit(t.Context(), s)
	if err != nil {
		t.Fatal(errorString(err))
	}
	if first.GatewayStatus != AdyenReceived || !pspReferenceShape.MatchString(first.GatewayReference) || first.HTTPStatus != http.StatusCreated {
		t.Fatalf("first submit: %+v", first)
	}
	if remediation.SettlementOf(first.GatewayStatus) != remediation.SettlementPending {
		t.Fatalf("%q must keep the workflow in AwaitingGateway", first.GatewayStatus)
	}
	// A retry after a lost answer carries the same key: Adyen replays.
	again, err := gw.Submit(t.Context(), s)
	if err != nil || again.GatewayReference != first.GatewayReference {
		t.Fatalf("replay: %+v, %v", again, errorString(err))
	}
	refunds := adyenRefunds(t, base, 0)
	sub := refunds[s.IdempotencyKey]
	if len(refunds) != 1 || sub == nil || sub.Creations != 1 || sub.Replays != 1 || sub.Requests != 2 {
		t.Fatalf("ledger: %+v", refunds)
	}
	if sub.Metadata["reference"] != s.TransactionID || sub.ReasonCode != "CUSTOMER REQUEST" || sub.Metadata["merchantAccount"] != testAdyenMerchant {
		t.Fatalf("refund as Adyen saw it: %+v", sub)
	}
	ev, err := gw.Check(t.Context(), SettlementCheck{TransactionID: s.TransactionID, GatewayReference: first.GatewayReference, Poll: 1})
	if err != nil || ev.Status != "" || ev.EventID != "poll:1" {
		t.Fatalf("Adyen has no read; Check must say nothing: %+v, %v", ev, err)
	}
}

// TestAdyenAmountsInAdyensMinorUnits sends each amount through the spec
// check and reads what Adyen received. CVE, ISK and CLP are three of the
// four currencies whose decimals differ at Adyen from ISO 4217.
func TestAdyenAmountsInAdyensMinorUnits(t *testing.T) {
	t.Parallel()
	gw, base := sandboxAdyen(t)
	cases := []struct {
		psp      string
		minor    int64
		currency string
		want     int64
	}{
		{"KX00000000000U01", 4999, "USD", 4999},     // 49.99 USD
		{"KX00000000000J01", 5000, "JPY", 5000},     // 5000 JPY, no decimals at either
		{"KX00000000000K01", 12345, "KWD", 12345},   // 12.345 KWD, three at either
		{"KX00000000000C01", 150000, "CVE", 1500},   // 1500.00 CVE: ISO 2 decimals, Adyen 0
		{"KX00000000000I01", 5, "ISK", 500},         // 5 ISK: ISO 0 decimals, Adyen 2
		{"KX00000000000L01", 1000, "CLP", 100000},   // 1000 CLP: ISO 0, Adyen 2
		{"KX00000000000R01", 1500000, "IDR", 15000}, // 15000.00 IDR: ISO 2, Adyen 0
	}
	for _, c := range cases {
		if _, err := gw.Submit(t.Context(), adyenSubmission(c.psp, c.minor, c.currency)); err != nil {
			t.Fatalf("%s %d: %s", c.currency, c.minor, errorString(err))
		}
	}
	refunds := adyenRefunds(t, base, 0)
	for _, c := range cases {
		sub := refunds[c.psp+":refund"]
		if sub == nil || sub.AmountMinor != c.want || sub.Currency != c.currency {
			t.Errorf("%d %s minor units reached Adyen as %+v, want value %d", c.minor, c.currency, sub, c.want)
		}
	}

	// 1500.50 CVE has no exact Adyen amount: review, never a rounded refund.
	_, err := gw.Submit(t.Context(), adyenSubmission("KX00000000000C02", 150050, "CVE"))
	ae := wantFinal(t, err, ErrConfiguration)
	if !strings.Contains(ae.Message(), "whole CVE") {
		t.Errorf("reason: %s", ae.Message())
	}
	if n := len(adyenRefunds(t, base, 0)); n != len(cases) {
		t.Errorf("a refused amount reached Adyen: %d refunds", n)
	}
}

func TestAdyenRefusesWhatItCannotRefundBeforeAnyCall(t *testing.T) {
	t.Parallel()
	gw, base := sandboxAdyen(t)
	_, err := gw.Submit(t.Context(), adyenSubmission("TXN-1001", 4999, "USD"))
	if ae := wantFinal(t, err, ErrConfiguration); !strings.Contains(ae.Message(), "not an Adyen pspReference") {
		t.Errorf("reason: %s", ae.Message())
	}
	cb := adyenSubmission("KX00000000000B01", 4999, "USD")
	cb.Action, cb.IdempotencyKey = remediation.ActionChargeback, "KX00000000000B01:chargeback"
	_, err = gw.Submit(t.Context(), cb)
	if ae := wantFinal(t, err, ErrConfiguration); !strings.Contains(ae.Message(), "chargeback cannot be opened by the merchant at Adyen") {
		t.Errorf("reason: %s", ae.Message())
	}
	if v := sandboxLedger(t, base); len(v.AdyenRefunds) != 0 || v.Stats.SpecViolations != 0 {
		t.Fatalf("Adyen was called: %+v", v.AdyenRefunds)
	}
}

func TestAdyenFinalAnswersNameAdyensError(t *testing.T) {
	t.Parallel()
	gw, base := sandboxAdyen(t)
	_, err := gw.Submit(t.Context(), adyenSubmission("REJECT0000000001", 4999, "USD"))
	ae := wantFinal(t, err, ErrGatewayRejected)
	for _, want := range []string{"422", "errorCode sandbox_reject", "Adyen refuses to refund this payment"} {
		if !strings.Contains(ae.Message(), want) {
			t.Errorf("message lacks %q: %s", want, ae.Message())
		}
	}
	other := *gw
	other.merchantAccount = "SomeoneElsesECOM"
	_, err = other.Submit(t.Context(), adyenSubmission("KX00000000000M01", 4999, "USD"))
	if ae := wantFinal(t, err, ErrGatewayRejected); !strings.Contains(ae.Message(), "errorCode 901") || !strings.Contains(ae.Message(), "Invalid Merchant Account") {
		t.Errorf("message: %s", ae.Message())
	}
	adyenRefunds(t, base, 0)
}

// TestAdyenRetriesTheSameKeyUntilTaken: two 503s, then the refund; one
// refund made, one key, three requests.
func TestAdyenRetriesTheSameKeyUntilTaken(t *testing.T) {
	t.Parallel()
	gw, base := sandboxAdyen(t)
	s := adyenSubmission("FAIL2X0000000001", 4999, "USD")
	for range 2 {
		_, err := gw.Submit(t.Context(), s)
		wantRetryable(t, err, ErrGatewayUnavailable, 0)
	}
	res, err := gw.Submit(t.Context(), s)
	if err != nil || res.GatewayStatus != AdyenReceived {
		t.Fatalf("third try: %+v, %s", res, errorString(err))
	}
	refunds := adyenRefunds(t, base, 0)
	if sub := refunds[s.IdempotencyKey]; len(refunds) != 1 || sub.Requests != 3 || sub.Creations != 1 {
		t.Fatalf("ledger: %+v", refunds)
	}
}

// recordingAdyen answers with the statuses given, in turn, and records
// every request.
func recordingAdyen(t *testing.T, answers ...func(w http.ResponseWriter)) (*AdyenGateway, *requests) {
	t.Helper()
	var got requests
	var mu sync.Mutex
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.add(record(t, r))
		mu.Lock()
		i := min(n, len(answers)-1)
		n++
		mu.Unlock()
		answers[i](w)
	}))
	t.Cleanup(ts.Close)
	gw, err := NewAdyenGateway(adyenConfig(ts.URL), NewHTTPClient(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return gw, &got
}

func adyenAnswer(status int, header map[string]string, body any) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		writeJSON(w, status, body)
	}
}

func TestAdyenWireShapeAndRetries(t *testing.T) {
	t.Parallel()
	received := map[string]any{"pspReference": "993617894906488A", "status": "received", "merchantAccount": testAdyenMerchant,
		"paymentPspReference": "KX00000000000W01", "amount": map[string]any{"currency": "USD", "value": 4999}}
	gw, got := recordingAdyen(t,
		adyenAnswer(http.StatusTooManyRequests, map[string]string{"Retry-After": "3"}, map[string]any{"status": 429, "errorCode": "000", "message": "Too many requests"}),
		adyenAnswer(http.StatusInternalServerError, nil, map[string]any{"status": 500, "errorCode": "905", "message": "Payment details are not supported", "errorType": "configuration"}),
		adyenAnswer(http.StatusCreated, nil, received),
	)
	s := adyenSubmission("KX00000000000W01", 4999, "USD")
	_, err := gw.Submit(t.Context(), s)
	wantRetryable(t, err, ErrGatewayUnavailable, 3*time.Second)
	_, err = gw.Submit(t.Context(), s)
	ae := wantRetryable(t, err, ErrGatewayUnavailable, 0)
	if !strings.Contains(ae.Message(), "errorCode 905") {
		t.Errorf("a 5xx names Adyen's error too: %s", ae.Message())
	}
	res, err := gw.Submit(t.Context(), s)
	if err != nil || res.GatewayReference != "993617894906488A" {
		t.Fatalf("third: %+v, %s", res, errorString(err))
	}
	reqs := got.all()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.path != "/v71/payments/KX00000000000W01/refunds" || r.method != http.MethodPost {
			t.Errorf("request %s %s", r.method, r.path)
		}
		// The same key on every retry: the retry is replayed, never a second refund.
		wantHeader(t, r, "Idempotency-Key", "KX00000000000W01:refund")
		wantHeader(t, r, "X-API-Key", testAdyenKey)
		wantHeader(t, r, "Authorization", "")
		wantHeader(t, r, "Content-Type", "application/json")
		var body map[string]any
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatal(err)
		}
		want := `{"amount":{"currency":"USD","value":4999},"merchantAccount":"SandboxMerchantECOM","merchantRefundReason":"CUSTOMER REQUEST","reference":"KX00000000000W01"}`
		if b, _ := json.Marshal(body); string(b) != want {
			t.Errorf("body %s, want %s", b, want)
		}
	}
}

func TestAdyenKeyIsNeverInAnError(t *testing.T) {
	t.Parallel()
	logger, logs := testLogger()
	var got requests
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.add(record(t, r))
		// A remote that echoes the key it was sent.
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": 401, "errorCode": "000", "message": "bad key " + r.Header.Get("X-API-Key")})
	}))
	t.Cleanup(ts.Close)
	gw, err := NewAdyenGateway(adyenConfig(ts.URL), NewHTTPClient(5*time.Second), logger)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.Submit(t.Context(), adyenSubmission("KX00000000000A02", 100, "EUR"))
	ae := wantFinal(t, err, ErrAuthFailed)
	if len(got.all()) != 1 {
		t.Errorf("a static key is not renewed: %d requests", len(got.all()))
	}
	for what, s := range map[string]string{"error": ae.Error(), "logs": logs.String()} {
		if strings.Contains(s, testAdyenKey) {
			t.Errorf("%s holds the API key: %s", what, s)
		}
	}
}

func TestAdyenIdempotencyKeyFitsAdyensLimit(t *testing.T) {
	short := "KX00000000000A01:refund:4999:r2"
	if got := adyenIdempotencyKey(short); got != short {
		t.Errorf("a key within 64 characters must go as is, got %q", got)
	}
	long := strings.Repeat("x", 70) + ":refund"
	a, b := adyenIdempotencyKey(long), adyenIdempotencyKey(long)
	if len(a) != 64 || a != b || a == adyenIdempotencyKey(long+":r2") {
		t.Errorf("a long key must become a stable 64-character hash, distinct per key: %q %q", a, b)
	}
}

// TestAdyenSpecCatchesAWrongBody proves the spec check can fail: an amount
// as text and a field Adyen's refund request does not have are refused,
// counted, and nothing is refunded.
func TestAdyenSpecCatchesAWrongBody(t *testing.T) {
	t.Parallel()
	gw, base := sandboxAdyen(t)
	gw.editBody = func(b map[string]any) {
		b["amount"] = map[string]any{"currency": "USD", "value": "49.99"}
		b["shopperEmail"] = "someone@example.com"
	}
	_, err := gw.Submit(t.Context(), adyenSubmission("KX00000000000S01", 4999, "USD"))
	wantFinal(t, err, ErrGatewayRejected)
	v := sandboxLedger(t, base)
	if v.Stats.SpecViolations != 1 || len(v.AdyenRefunds) != 0 {
		t.Fatalf("violations %d (%v), refunds %d", v.Stats.SpecViolations, v.Stats.SpecViolationNotes, len(v.AdyenRefunds))
	}
	note := strings.Join(v.Stats.SpecViolationNotes, " ")
	for _, want := range []string{"value", "shopperEmail"} {
		if !strings.Contains(note, want) {
			t.Errorf("the violation does not name %s: %s", want, note)
		}
	}
}
