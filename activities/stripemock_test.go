package activities

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/testenv"
)

// These tests run the Stripe gateway against stripe-mock, which validates
// every request against Stripe's own OpenAPI spec: a field Stripe does not
// know, or a value of the wrong type, is refused as Stripe would refuse it.

func stripeMockGateway(t *testing.T, base string) *StripeGateway {
	t.Helper()
	gw, err := NewStripeGateway(GatewayConfig{
		Kind: GatewayKindStripe, StripeBaseURL: base, StripeAPIKey: "sk_test_123", Timeout: 10 * time.Second,
	}, NewHTTPClient(10*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func TestStripeMockAcceptsTheRefund(t *testing.T) {
	t.Parallel()
	gw := stripeMockGateway(t, testenv.StartStripeMock(t))
	for _, txn := range []string{"pi_3MtwBwLkdIwHu7ix28a3tqPa", "ch_3MtwBwLkdIwHu7ix0snN0B15"} {
		res, err := gw.Submit(t.Context(), stripeSubmission(txn))
		if err != nil {
			t.Fatalf("%s: %v", txn, err)
		}
		if !strings.HasPrefix(res.GatewayReference, "re_") || res.HTTPStatus != http.StatusOK {
			t.Errorf("%s: result = %+v, want a re_ reference", txn, res)
		}
	}
}

// TestStripeMockValidatesTheRefundLookup proves GET /v1/refunds is a
// request Stripe's spec accepts, for both targets. stripe-mock's fixture
// refund carries no metadata[transaction_id], so it is someone else's and
// the refund is still made.
func TestStripeMockValidatesTheRefundLookup(t *testing.T) {
	t.Parallel()
	base := testenv.StartStripeMock(t)
	seen := &roundTrips{next: NewHTTPClient(10 * time.Second).Transport}
	client := NewHTTPClient(10 * time.Second)
	client.Transport = seen
	gw, err := NewStripeGateway(GatewayConfig{
		Kind: GatewayKindStripe, StripeBaseURL: base, StripeAPIKey: "sk_test_123", Timeout: 10 * time.Second,
	}, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ txn, lookup string }{
		{"pi_3MtwBwLkdIwHu7ix28a3tqPa", "GET /v1/refunds?limit=100&payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa 200"},
		{"ch_3MtwBwLkdIwHu7ix0snN0B15", "GET /v1/refunds?charge=ch_3MtwBwLkdIwHu7ix0snN0B15&limit=100 200"},
	} {
		seen.reset()
		res, err := gw.Submit(t.Context(), stripeSubmission(tc.txn))
		if err != nil {
			t.Fatalf("%s: %v", tc.txn, err)
		}
		got := seen.all()
		if len(got) != 3 || got[1] != tc.lookup || got[2] != "POST /v1/refunds 200" {
			t.Errorf("%s: requests %q, want the payment read, %q, then the refund", tc.txn, got, tc.lookup)
		}
		if !strings.HasPrefix(res.GatewayReference, "re_") {
			t.Errorf("%s: result = %+v", tc.txn, res)
		}
	}
}

// roundTrips records "METHOD path?query status" of each request.
type roundTrips struct {
	next http.RoundTripper
	mu   sync.Mutex
	list []string
}

func (r *roundTrips) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	line := req.Method + " " + req.URL.RequestURI()
	if err == nil {
		line += fmt.Sprintf(" %d", resp.StatusCode)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, line)
	return resp, err
}

func (r *roundTrips) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = nil
}

func (r *roundTrips) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.list...)
}

func TestStripeMockRejectionIsFinal(t *testing.T) {
	t.Parallel()
	gw := stripeMockGateway(t, testenv.StartStripeMock(t))
	// Major units where Stripe wants an integer of minor units: the mistake
	// the amount conversion exists to prevent.
	gw.editForm = func(v url.Values) { v.Set("amount", "49.99") }
	_, err := gw.Submit(t.Context(), stripeSubmission("pi_3MtwBwLkdIwHu7ix28a3tqPa"))
	ae := wantFinal(t, err, ErrGatewayRejected)
	if !strings.Contains(ae.Message(), "400") || !strings.Contains(ae.Message(), "amount") {
		t.Errorf("message %q does not say what Stripe refused", ae.Message())
	}
	noSecrets(t, "error", err.Error())
}

// TestStripeMockPinnedVersion proves StripeAPIVersion is the version of the
// spec the requests are validated against: stripe-mock in strict mode
// refuses any other Stripe-Version.
func TestStripeMockPinnedVersion(t *testing.T) {
	t.Parallel()
	base := startStrictStripeMock(t)
	if _, err := stripeMockGateway(t, base).Submit(t.Context(), stripeSubmission("pi_3MtwBwLkdIwHu7ix28a3tqPa")); err != nil {
		t.Fatalf("strict stripe-mock refused the pinned version %s: %v", StripeAPIVersion, err)
	}
	// Control: strict mode is on, so another version is refused.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/payment_intents/pi_1", nil)
	req.Header.Set("Authorization", "Bearer sk_test_123")
	req.Header.Set("Stripe-Version", "2020-08-27")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("strict stripe-mock answered %d to another Stripe-Version, want 400", resp.StatusCode)
	}
}

// startStrictStripeMock is testenv.StartStripeMock with
// -strict-version-check.
func startStrictStripeMock(t *testing.T) string {
	return testenv.StartStripeMock(t, "-strict-version-check")
}

// TestStripeMockValidatesTheSettlementCheck proves GET /v1/refunds/{id} is
// a request Stripe's spec accepts, and that its status is read.
func TestStripeMockValidatesTheSettlementCheck(t *testing.T) {
	t.Parallel()
	gw := stripeMockGateway(t, testenv.StartStripeMock(t))
	res, err := gw.Submit(t.Context(), stripeSubmission("pi_3MtwBwLkdIwHu7ix28a3tqPa"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GatewayStatus == "" {
		t.Errorf("submission result %+v carries no gateway status", res)
	}
	ev, err := gw.Check(t.Context(), SettlementCheck{TransactionID: "pi_3MtwBwLkdIwHu7ix28a3tqPa", GatewayReference: res.GatewayReference, Poll: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status == "" || ev.GatewayReference != res.GatewayReference || ev.EventID != "poll:1" || ev.Gateway != "stripe" {
		t.Errorf("check answered %+v", ev)
	}
}
