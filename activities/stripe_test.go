package activities

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
)

// fakeStripe serves the payment read with a currency, lists the refunds
// set with holds (none by default), and answers POST /v1/refunds with
// refund.
type fakeStripe struct {
	srv  *httptest.Server
	reqs *requests
	gw   *StripeGateway
	logs *logBuffer

	mu       sync.Mutex
	existing []fakeRefund
	pageSize int
	// lists are the queries of GET /v1/refunds, in order.
	lists []url.Values
	// listAnswer, when set, answers GET /v1/refunds instead of existing.
	listAnswer func(http.ResponseWriter, *http.Request, int)
}

// fakeRefund is a refund as GET /v1/refunds lists it.
type fakeRefund struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Status   string            `json:"status"`
	Metadata map[string]string `json:"metadata"`
}

// ours is a refund this gateway made for txn.
func ours(id, txn string, amount int64, status string) fakeRefund {
	return fakeRefund{ID: id, Object: "refund", Amount: amount, Currency: "usd", Status: status,
		Metadata: map[string]string{"transaction_id": txn, "disposition": "Refund_Processed"}}
}

// holds makes GET /v1/refunds list refunds, newest first, pageSize a page
// (0: the request's limit).
func (f *fakeStripe) holds(pageSize int, refunds ...fakeRefund) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize, f.existing = pageSize, refunds
}

func (f *fakeStripe) listQueries() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.lists...)
}

// listRefunds pages like Stripe: limit, starting_after, has_more.
func (f *fakeStripe) listRefunds(t *testing.T, w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	f.lists = append(f.lists, q)
	if f.listAnswer != nil {
		f.listAnswer(w, r, len(f.lists))
		return
	}
	size, err := strconv.Atoi(q.Get("limit"))
	if err != nil || size < 1 || size > 100 {
		t.Errorf("GET /v1/refunds limit = %q, Stripe takes 1-100", q.Get("limit"))
		size = 10
	}
	if f.pageSize > 0 {
		size = min(size, f.pageSize)
	}
	start := 0
	if after := q.Get("starting_after"); after != "" {
		start = -1
		for i, x := range f.existing {
			if x.ID == after {
				start = i + 1
			}
		}
		if start < 0 {
			writeJSON(w, 400, map[string]any{"error": map[string]string{"type": "invalid_request_error", "message": "No such refund: " + after}})
			return
		}
	}
	end := min(start+size, len(f.existing))
	writeJSON(w, 200, map[string]any{"object": "list", "url": "/v1/refunds", "data": append([]fakeRefund{}, f.existing[start:end]...), "has_more": end < len(f.existing)})
}

func newFakeStripe(t *testing.T, currency string, refund func(w http.ResponseWriter, r *http.Request, n int)) *fakeStripe {
	t.Helper()
	f := &fakeStripe{reqs: &requests{}}
	var refunds requests
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/payment_intents/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.reqs.add(record(t, r))
		fmt.Fprintf(w, `{"id":%q,"object":"payment_intent","currency":%q}`, r.PathValue("id"), currency)
	})
	mux.HandleFunc("GET /v1/charges/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.reqs.add(record(t, r))
		fmt.Fprintf(w, `{"id":%q,"object":"charge","currency":%q}`, r.PathValue("id"), currency)
	})
	mux.HandleFunc("GET /v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		f.reqs.add(record(t, r))
		f.listRefunds(t, w, r)
	})
	mux.HandleFunc("POST /v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		rec := record(t, r)
		f.reqs.add(rec)
		refund(w, r, refunds.add(rec))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	logger, logs := testLogger()
	f.logs = logs
	gw, err := NewStripeGateway(GatewayConfig{Kind: GatewayKindStripe, StripeBaseURL: f.srv.URL, StripeAPIKey: testStripeKey, Timeout: 5 * time.Second}, NewHTTPClient(5*time.Second), logger)
	if err != nil {
		t.Fatal(err)
	}
	f.gw = gw
	return f
}

func (f *fakeStripe) posts() []recorded {
	var out []recorded
	for _, r := range f.reqs.all() {
		if r.method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

func stripeSubmission(txn string) Submission {
	s := refundSubmission()
	s.TransactionID, s.IdempotencyKey = txn, txn+":refund"
	return s
}

func stripeAnswer(status int, header map[string]string, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

const stripeRefundOK = `{"id":"re_3Abc","object":"refund","status":"succeeded","amount":4999}`

func TestStripeRefundOfAPaymentIntent(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	res, err := f.gw.Submit(t.Context(), stripeSubmission("pi_3Mtw"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GatewayReference != "re_3Abc" || res.HTTPStatus != 200 {
		t.Errorf("result = %+v", res)
	}
	all := f.reqs.all()
	if len(all) != 3 || all[0].method != http.MethodGet || all[0].path != "/v1/payment_intents/pi_3Mtw" ||
		all[1].method != http.MethodGet || all[1].path != "/v1/refunds" {
		t.Fatalf("requests = %+v, want the payment read, the refund lookup, then the refund", all)
	}
	for _, read := range all[:2] {
		wantHeader(t, read, "Authorization", "Bearer "+testStripeKey)
		wantHeader(t, read, "Stripe-Version", StripeAPIVersion)
	}
	if q := f.listQueries(); len(q) != 1 || q[0].Encode() != "limit=100&payment_intent=pi_3Mtw" {
		t.Errorf("refund lookup queries = %v, want payment_intent=pi_3Mtw&limit=100", q)
	}
	r := all[2]
	if r.path != "/v1/refunds" {
		t.Errorf("path = %s", r.path)
	}
	wantHeader(t, r, "Authorization", "Bearer "+testStripeKey)
	wantHeader(t, r, "Content-Type", "application/x-www-form-urlencoded")
	wantHeader(t, r, "Idempotency-Key", "pi_3Mtw:refund")
	wantHeader(t, r, "Stripe-Version", StripeAPIVersion)
	// Exactly the contract's fields: no currency (Stripe refunds in the
	// payment's currency), no customer data.
	want := "amount=4999&metadata%5Bdisposition%5D=Refund_Processed&metadata%5Btransaction_id%5D=pi_3Mtw&payment_intent=pi_3Mtw&reason=requested_by_customer"
	if r.body != want {
		t.Errorf("form\n got %s\nwant %s", r.body, want)
	}
}

func TestStripeRefundOfACharge(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "jpy", stripeAnswer(200, nil, stripeRefundOK))
	s := stripeSubmission("ch_1Nx")
	s.AmountMinor, s.Currency = 500, "JPY"
	if _, err := f.gw.Submit(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	all := f.reqs.all()
	if all[0].path != "/v1/charges/ch_1Nx" {
		t.Errorf("read %s, want /v1/charges/ch_1Nx", all[0].path)
	}
	if q := f.listQueries(); len(q) != 1 || q[0].Encode() != "charge=ch_1Nx&limit=100" {
		t.Errorf("refund lookup queries = %v, want charge=ch_1Nx&limit=100", q)
	}
	form, _ := url.ParseQuery(all[len(all)-1].body)
	if form.Get("charge") != "ch_1Nx" || form.Has("payment_intent") || form.Get("amount") != "500" {
		t.Errorf("form = %v", form)
	}
}

func TestStripeRefusesOtherTransactionIDs(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	for _, txn := range []string{"T1", "py_123", "in_1", "PI_123"} {
		_, err := f.gw.Submit(t.Context(), stripeSubmission(txn))
		wantFinal(t, err, ErrConfiguration)
		if !strings.Contains(err.Error(), "pi_") || !strings.Contains(err.Error(), "finance review") {
			t.Errorf("%s: error %q does not explain", txn, err)
		}
	}
	if n := len(f.reqs.all()); n != 0 {
		t.Errorf("%d requests reached Stripe", n)
	}
}

func TestStripeChargebackGoesToReview(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	s := stripeSubmission("pi_1")
	s.Action = remediation.ActionChargeback
	_, err := f.gw.Submit(t.Context(), s)
	wantFinal(t, err, ErrConfiguration)
	if !strings.Contains(err.Error(), "Stripe does not let a merchant create a chargeback; sent to finance review") {
		t.Errorf("error = %q", err)
	}
	if n := len(f.reqs.all()); n != 0 {
		t.Errorf("%d requests reached Stripe", n)
	}
}

func TestStripeCurrencyMismatchIsNotRefunded(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "jpy", stripeAnswer(200, nil, stripeRefundOK))
	_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	wantFinal(t, err, ErrInvalidRequest)
	if !strings.Contains(err.Error(), "USD") || !strings.Contains(err.Error(), "JPY") {
		t.Errorf("error = %q", err)
	}
	if n := len(f.posts()); n != 0 {
		t.Errorf("%d refunds posted despite the mismatch", n)
	}
}

func TestStripeErrorModel(t *testing.T) {
	t.Parallel()
	alreadyRefunded := `{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge ch_1 has already been refunded.","param":"charge"}}`
	inUse := `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key."}}`
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		final   bool
		errType ErrorType
		delay   time.Duration
		inMsg   []string
	}{
		{"should-retry true beats a 400", 400, map[string]string{"Stripe-Should-Retry": "true"}, alreadyRefunded, false, ErrGatewayUnavailable, 0, nil},
		{"should-retry false beats a 503", 503, map[string]string{"Stripe-Should-Retry": "false"}, `{"error":{"type":"api_error","message":"boom"}}`, true, ErrGatewayRejected, 0, []string{"503", "api_error", "boom"}},
		{"idempotency key in use", 409, nil, inUse, false, ErrGatewayUnavailable, 0, []string{"idempotency_key_in_use"}},
		{"idempotency key in use, Retry-After", 409, map[string]string{"Retry-After": "2"}, inUse, false, ErrGatewayUnavailable, 2 * time.Second, nil},
		{"other 409", 409, nil, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`, true, ErrGatewayRejected, 0, []string{"idempotency_error"}},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "3"}, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, false, ErrGatewayUnavailable, 3 * time.Second, nil},
		{"500", 500, nil, `{"error":{"type":"api_error"}}`, false, ErrGatewayUnavailable, 0, nil},
		{"charge already refunded", 400, map[string]string{"Request-Id": "req_abc123"}, alreadyRefunded, true, ErrGatewayRejected, 0,
			[]string{"400 Bad Request charge_already_refunded: Charge ch_1 has already been refunded.", "req_abc123"}},
		{"charge disputed", 400, nil, `{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"Charge ch_1 has been charged back; cannot issue a refund."}}`, true, ErrGatewayRejected, 0, []string{"charge_disputed"}},
		{"402", 402, nil, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`, true, ErrGatewayRejected, 0, []string{"card_declined (insufficient_funds)"}},
		{"404", 404, nil, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent: 'pi_1'"}}`, true, ErrGatewayRejected, 0, []string{"resource_missing"}},
		{"not JSON", 400, nil, `<html>bad</html>`, true, ErrGatewayRejected, 0, []string{"<html>bad</html>"}},
		{"echoes the key", 400, nil, `{"error":{"type":"invalid_request_error","message":"key ` + testStripeKey + ` lacks rak_refund_write"}}`, true, ErrGatewayRejected, 0, []string{"key [redacted] lacks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStripe(t, "usd", stripeAnswer(tc.status, tc.header, tc.body))
			_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
			if tc.final {
				wantFinal(t, err, tc.errType)
			} else {
				wantRetryable(t, err, tc.errType, tc.delay)
			}
			for _, s := range tc.inMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if len(f.posts()) != 1 {
				t.Errorf("%d refund posts, want 1 (retries are the workflow's)", len(f.posts()))
			}
			noSecrets(t, "error", err.Error())
		})
	}
}

func TestStripe401IsFinalAndHidesTheKey(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(401, nil, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: `+testStripeKey+`"}}`))
	// The read passes; the refund is refused.
	_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	wantFinal(t, err, ErrAuthFailed)
	if n := len(f.posts()); n != 1 {
		t.Errorf("%d posts: a static key cannot get better by asking again", n)
	}
	noSecrets(t, "error", err.Error())
	noSecrets(t, "logs", f.logs.String())
}

func TestStripeFailedRefundIsFinal(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, `{"id":"re_9","status":"failed","failure_reason":"lost_or_stolen_card"}`))
	_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	wantFinal(t, err, ErrGatewayRejected)
	if !strings.Contains(err.Error(), "re_9") || !strings.Contains(err.Error(), "lost_or_stolen_card") {
		t.Errorf("error = %q", err)
	}
}

func TestStripeAmountUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		minor    int64
		currency string
		want     int64
		err      bool
	}{
		{4999, "USD", 4999, false},
		{500, "JPY", 500, false},
		{5, "ISK", 500, false},
		{150000, "MGA", 1500, false},
		{150050, "MGA", 0, true},
		{1250, "KWD", 1250, false},
		{1255, "KWD", 0, true},
	} {
		got, err := stripeAmount(tc.minor, tc.currency)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("stripeAmount(%d, %s) = %d, %v; want %d, error %v", tc.minor, tc.currency, got, err, tc.want, tc.err)
		}
	}
	f := newFakeStripe(t, "kwd", stripeAnswer(200, nil, stripeRefundOK))
	s := stripeSubmission("pi_1")
	s.AmountMinor, s.Currency = 1255, "KWD"
	_, err := f.gw.Submit(t.Context(), s)
	wantFinal(t, err, ErrConfiguration)
	if n := len(f.reqs.all()); n != 0 {
		t.Errorf("%d requests for an amount Stripe cannot take", n)
	}
}
