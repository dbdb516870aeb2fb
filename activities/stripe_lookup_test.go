package activities

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// These tests cover the look-up before POST /v1/refunds: Stripe forgets an
// Idempotency-Key after about 24 hours, and a corrected amount uses another
// key, so the refunds a transaction already made are read first.

// TestStripeExistingRefundOfTheSameAmountIsTheResult is the approval more
// than a day after an attempt whose answer was lost: the refund was made,
// Stripe no longer knows the key, and no second refund may be created.
func TestStripeExistingRefundOfTheSameAmountIsTheResult(t *testing.T) {
	t.Parallel()
	for _, txn := range []string{"pi_Late", "ch_Late"} {
		t.Run(txn, func(t *testing.T) {
			t.Parallel()
			f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
			f.holds(0, ours("re_Earlier", txn, 4999, "succeeded"))
			res, err := f.gw.Submit(t.Context(), stripeSubmission(txn))
			if err != nil {
				t.Fatal(err)
			}
			if res.GatewayReference != "re_Earlier" || res.HTTPStatus != http.StatusOK {
				t.Errorf("result = %+v, want the existing refund re_Earlier", res)
			}
			if n := len(f.posts()); n != 0 {
				t.Errorf("%d refunds posted although re_Earlier already refunds this transaction", n)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "already holds") || !strings.Contains(logs, "re_Earlier") {
				t.Errorf("the existing refund was not logged:\n%s", logs)
			}
		})
	}
}

// A pending refund has not failed: it will move the money, so it counts.
func TestStripeExistingPendingRefundIsTheResult(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	f.holds(0, ours("re_Pending", "pi_1", 4999, "pending"))
	res, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	if err != nil || res.GatewayReference != "re_Pending" || len(f.posts()) != 0 {
		t.Errorf("result = %+v, %v, %d posts; want re_Pending and no post", res, err, len(f.posts()))
	}
}

// TestStripeExistingRefundOfAnotherAmountGoesToReview is the approval with
// a corrected amount after the first refund did go through: its key is new
// to Stripe, so only the look-up stops a second refund.
func TestStripeExistingRefundOfAnotherAmountGoesToReview(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		existing []fakeRefund
		inMsg    []string
	}{
		{"corrected amount", []fakeRefund{ours("re_First", "pi_1", 4999, "succeeded")},
			[]string{"refund re_First of 49.99 USD (succeeded)", "asks for 30.00 USD", "finance review"}},
		{"several refunds", []fakeRefund{ours("re_A", "pi_1", 3000, "succeeded"), ours("re_B", "pi_1", 1000, "pending")},
			[]string{"2 refunds", "re_A of 30.00 USD (succeeded)", "re_B of 10.00 USD (pending)", "asks for 30.00 USD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
			f.holds(0, tc.existing...)
			s := stripeSubmission("pi_1")
			s.AmountMinor, s.IdempotencyKey = 3000, "pi_1:refund:3000"
			_, err := f.gw.Submit(t.Context(), s)
			ae := wantFinal(t, err, ErrGatewayRejected)
			for _, want := range tc.inMsg {
				if !strings.Contains(ae.Message(), want) {
					t.Errorf("message %q lacks %q", ae.Message(), want)
				}
			}
			if SubmissionOutcomeUnknown(err) {
				t.Errorf("a refund Stripe listed is known, not an unknown outcome")
			}
			if n := len(f.posts()); n != 0 {
				t.Errorf("%d refunds posted on top of an existing one", n)
			}
		})
	}
}

// A failed or canceled refund moved no money: the refund is made (under
// the same Idempotency-Key, which Stripe may still answer itself).
func TestStripeFailedOrCanceledRefundsAreIgnored(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	f.holds(0, ours("re_Failed", "pi_1", 4999, "failed"), ours("re_Canceled", "pi_1", 3000, "canceled"))
	res, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GatewayReference != "re_3Abc" || len(f.posts()) != 1 {
		t.Errorf("result = %+v after %d posts, want the new refund re_3Abc", res, len(f.posts()))
	}
	wantLookedUp(t, f)
}

// Refunds on the same payment that another transaction or a person in the
// dashboard made are not this transaction's.
func TestStripeOtherTransactionsRefundsAreIgnored(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	dashboard := ours("re_Dashboard", "", 4999, "succeeded")
	dashboard.Metadata = map[string]string{}
	f.holds(0, ours("re_Other", "pi_10", 4999, "succeeded"), dashboard)
	res, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GatewayReference != "re_3Abc" || len(f.posts()) != 1 {
		t.Errorf("result = %+v after %d posts, want the new refund re_3Abc", res, len(f.posts()))
	}
	wantLookedUp(t, f)
}

// TestStripeRefundLookupPages follows has_more with starting_after: this
// transaction's refund is on the third page.
func TestStripeRefundLookupPages(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	f.holds(2,
		ours("re_5", "pi_other", 100, "succeeded"), ours("re_4", "pi_other", 100, "succeeded"),
		ours("re_3", "pi_other", 100, "succeeded"), ours("re_2", "pi_other", 100, "succeeded"),
		ours("re_1", "pi_1", 4999, "succeeded"))
	res, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.GatewayReference != "re_1" || len(f.posts()) != 0 {
		t.Errorf("result = %+v after %d posts, want re_1 from the last page", res, len(f.posts()))
	}
	var after []string
	for _, q := range f.listQueries() {
		if q.Get("payment_intent") != "pi_1" || q.Get("limit") != "100" {
			t.Errorf("page query %v", q)
		}
		after = append(after, q.Get("starting_after"))
	}
	if got := strings.Join(after, ","); got != ",re_4,re_2" {
		t.Errorf("starting_after per page = %q, want \",re_4,re_2\"", got)
	}
}

// A listing that does not end is not followed forever, and nothing is
// refunded without knowing what was.
func TestStripeRefundLookupIsBounded(t *testing.T) {
	t.Parallel()
	f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
	many := make([]fakeRefund, maxRefundPages*refundPageSize+1)
	for i := range many {
		many[i] = ours(fmt.Sprintf("re_%d", i), "pi_other", 1, "succeeded")
	}
	f.holds(0, many...)
	_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
	ae := wantFinal(t, err, ErrGatewayRejected)
	if !strings.Contains(ae.Message(), "more than 1000 refunds") {
		t.Errorf("message %q", ae.Message())
	}
	if n, p := len(f.listQueries()), len(f.posts()); n != maxRefundPages || p != 0 {
		t.Errorf("%d pages read and %d posts, want %d and 0", n, p, maxRefundPages)
	}
}

// A failed look-up is retried like any Stripe read, and nothing is posted
// in the meantime.
func TestStripeRefundLookupFailureIsRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"503", `{"error":{"type":"api_error","message":"try later"}}`, 503},
		{"not a list", `{"object":"refund","id":"re_1"}`, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
			f.mu.Lock()
			f.listAnswer = stripeAnswer(tc.status, nil, tc.body)
			f.mu.Unlock()
			_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
			wantRetryable(t, err, ErrGatewayUnavailable, 0)
			if n := len(f.posts()); n != 0 {
				t.Errorf("%d refunds posted without knowing what was refunded", n)
			}
		})
	}
}

// wantLookedUp insists the refunds were read and judged before the POST,
// not just never seen.
func wantLookedUp(t *testing.T, f *fakeStripe) {
	t.Helper()
	all := f.reqs.all()
	if len(f.listQueries()) != 1 || len(all) != 3 || all[1].path != "/v1/refunds" || all[2].method != http.MethodPost {
		t.Errorf("requests = %+v, want the payment read, one refund lookup, then the refund", all)
	}
}

// Only a request that can move money makes a failure "outcome unknown": a
// refund lookup cut off after it was sent, before its answer or in the
// middle of its body, refunded nothing, so the review must not tell finance
// to check the gateway first.
func TestStripeLookupCutOffIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		// sent is what the lookup's answer gets out before the hang-up.
		sent    string
		wantErr string
	}{
		"before the answer": {"", "after the request was sent"},
		// Promises 1000 bytes, sends a few.
		"mid-body": {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"object\":\"list\",\"data\":[", "reading the answer to 200 OK"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeStripe(t, "usd", stripeAnswer(200, nil, stripeRefundOK))
			f.mu.Lock()
			f.listAnswer = func(w http.ResponseWriter, _ *http.Request, _ int) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				_, _ = conn.Write([]byte(c.sent))
			}
			f.mu.Unlock()
			_, err := f.gw.Submit(t.Context(), stripeSubmission("pi_1"))
			wantRetryable(t, err, ErrGatewayUnavailable, 0)
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error = %q; want %q", err, c.wantErr)
			}
			if SubmissionOutcomeUnknown(err) {
				t.Errorf("a cut refund lookup is marked outcome unknown: %v", err)
			}
			if n := len(f.posts()); n != 0 {
				t.Errorf("%d refunds posted", n)
			}
		})
	}
}
