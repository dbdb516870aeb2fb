package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// captureID is a unique transaction ID in PayPal's capture shape
// ([A-Z0-9]{1,20}) whose letters are the sandbox's rule.
func captureID(rule string) string { return strings.ToUpper(testenv.Unique(rule)) }

// paypalDisposition is a refund disposition of amount in currency.
func paypalDisposition(txn, amount, currency string) map[string]any {
	d := testenv.Disposition(txn, "Refund_Processed", amount)
	d["currency"] = currency
	return d
}

// TestPayPalSandbox runs PayPal refunds through the real programs and the
// sandbox's PayPal side: the worker's PayPal gateway (OAuth, the lookup,
// the refund, the polls), the sandbox's webhooks to the starter's POST
// /v1/gateway-events/paypal, each verified by asking the sandbox's
// verify-webhook-signature. Every request the worker and the starter made,
// and every webhook body the sandbox sent, passes PayPal's spec.
func TestPayPalSandbox(t *testing.T) {
	t.Parallel()
	w := startWorld(t, stack.Options{
		Gateway:    stack.GatewayPayPal,
		SandboxEnv: []string{"REFUNDFLOW_SANDBOX_SETTLE_AFTER=2s"},
		WorkerEnv:  []string{"REFUNDFLOW_SETTLEMENT_POLL=1s", "REFUNDFLOW_SETTLEMENT_TIMEOUT=5m"},
	})
	plain := captureID("PPOK")
	pending := captureID("PEND")
	lost := captureID("PENDXDROP")
	forged := captureID("PENDXBADSIG")
	duplicated := captureID("PENDXDUP")
	failing := captureID("PFAIL")
	reversed := captureID("REVS")
	jpy := captureID("PJCURJPY")
	huf := captureID("PHCURHUF")
	kwd := captureID("PKCURKWD")
	disputed := captureID("DISPUTE")
	notACapture := testenv.Unique("pi_e2e")
	for _, d := range []map[string]any{
		paypalDisposition(plain, "49.99", "USD"), paypalDisposition(pending, "25.00", "USD"),
		paypalDisposition(lost, "25.00", "USD"), paypalDisposition(forged, "25.00", "USD"),
		paypalDisposition(duplicated, "25.00", "USD"), paypalDisposition(failing, "30.00", "USD"),
		paypalDisposition(reversed, "12.00", "USD"), paypalDisposition(jpy, "4999", "JPY"),
		paypalDisposition(huf, "1500.00", "HUF"), paypalDisposition(kwd, "1.500", "KWD"),
		paypalDisposition(disputed, "10.00", "USD"), paypalDisposition(notACapture, "10.00", "USD"),
	} {
		if r := w.PostDisposition(d); r.Code != http.StatusAccepted {
			t.Fatalf("%v: %d %s", d["transactionId"], r.Code, r.Raw)
		}
	}

	t.Run("COMPLETED at once: Completed, the body as the contract says", func(t *testing.T) {
		st := w.WaitState(plain, remediation.StateCompleted)
		led := w.WaitTransaction(plain, "Genesys told", testenv.Told(remediation.RefundStatusCompleted))
		if led.RefundsCreated != 1 || st.GatewayStatus != "completed" || st.GatewayReference != led.Submissions[0].Reference {
			t.Errorf("status %+v, ledger %+v", st, led.Submissions)
		}
		sub := led.Submissions[0]
		if sub.IdempotencyKey != plain+":refund" || sub.Amount != "49.99" || sub.Currency != "USD" || sub.Metadata["custom_id"] != plain {
			t.Errorf("refund %+v", sub)
		}
	})
	t.Run("PENDING, then a verified webhook: Completed", func(t *testing.T) {
		st := w.WaitState(pending, remediation.StateCompleted)
		led := w.WaitTransaction(pending, "the webhooks settled and Genesys told", func(v sandbox.TransactionView) bool {
			return webhooksDone(2)(v) && testenv.Told(remediation.RefundStatusCompleted)(v)
		})
		if led.RefundsCreated != 1 || st.GatewayStatus != "completed" {
			t.Errorf("status %+v, ledger %+v", st, led.Submissions)
		}
		for _, wh := range led.Webhooks {
			if wh.Gateway != "paypal" || wh.State != "delivered" || wh.HTTPStatus != http.StatusOK {
				t.Errorf("webhook: %+v", wh)
			}
		}
		if got := strings.Join(refundStatuses(led), ","); got != remediation.RefundStatusPending+","+remediation.RefundStatusCompleted {
			t.Errorf("Genesys was told %s", got)
		}
	})
	t.Run("the webhook lost: the poll settles it", func(t *testing.T) {
		st := w.WaitState(lost, remediation.StateCompleted)
		led := w.Transaction(lost)
		if led.RefundsCreated != 1 || st.GatewayStatus != "completed" || led.Submissions[0].StatusReads == 0 {
			t.Errorf("status %+v, ledger %+v", st, led.Submissions)
		}
	})
	t.Run("a forged delivery is refused 400, nothing applied from it", func(t *testing.T) {
		w.WaitState(forged, remediation.StateCompleted)
		led := w.WaitTransaction(forged, "the webhooks done", webhooksDone(4))
		refused := 0
		for _, wh := range led.Webhooks {
			if wh.Fault == "bad_signature" {
				refused++
				if wh.State != "refused" || wh.HTTPStatus != http.StatusBadRequest {
					t.Errorf("webhook: %+v", wh)
				}
			}
		}
		if refused != 2 || led.RefundsCreated != 1 {
			t.Errorf("%d forgeries refused, %d refunds: %+v", refused, led.RefundsCreated, led.Webhooks)
		}
	})
	t.Run("a duplicated delivery changes nothing", func(t *testing.T) {
		w.WaitState(duplicated, remediation.StateCompleted)
		// The Completed write-back may still wait its turn on the paced
		// Genesys queue when the state is Completed.
		led := w.WaitTransaction(duplicated, "the webhooks done and Completed written back", func(v sandbox.TransactionView) bool {
			return webhooksDone(4)(v) && testenv.Told(remediation.RefundStatusCompleted)(v)
		})
		if led.RefundsCreated != 1 || strings.Count(strings.Join(refundStatuses(led), ","), remediation.RefundStatusCompleted) != 1 {
			t.Errorf("refunds %d, Genesys told %v", led.RefundsCreated, refundStatuses(led))
		}
	})
	t.Run("FAILED: review; approved: a new PayPal-Request-Id, Completed", func(t *testing.T) {
		st := w.WaitState(failing, remediation.StateAwaitingReview)
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "ECHECK") || st.WorkitemID == "" {
			t.Errorf("review: %+v", st)
		}
		if r := w.Decide(failing, map[string]any{"decisionId": "dec-pp", "decision": "approve", "note": "try again"}); r.Code != http.StatusAccepted {
			t.Fatalf("decide: %d %s", r.Code, r.Raw)
		}
		st = w.WaitState(failing, remediation.StateCompleted)
		led := w.Transaction(failing)
		var keys []string
		for _, s := range led.Submissions {
			if s.Creations > 0 {
				keys = append(keys, s.IdempotencyKey+"="+s.Status)
			}
		}
		if strings.Join(keys, ",") != failing+":refund=failed,"+failing+":refund:r2=succeeded" || st.GatewayStatus != "completed" {
			t.Errorf("refunds %v, status %+v", keys, st)
		}
	})
	t.Run("reversed after Completed: back in front of finance", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		st, err := w.WaitStatus(ctx, reversed, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.GatewayStatus == "reversed"
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(st.LastError, "PAYMENT.CAPTURE.REVERSED") {
			t.Errorf("reason: %s", st.LastError)
		}
		led := w.WaitTransaction(reversed, "the reversal written back", testenv.Told(remediation.RefundStatusReversedReview))
		if got := strings.Join(refundStatuses(led), ","); !strings.HasPrefix(got, remediation.RefundStatusCompleted+",") || led.RefundsCreated != 1 {
			t.Errorf("Genesys was told %s; refunds %d", got, led.RefundsCreated)
		}
	})
	t.Run("JPY and HUF in PayPal's decimals", func(t *testing.T) {
		w.WaitState(jpy, remediation.StateCompleted)
		w.WaitState(huf, remediation.StateCompleted)
		if sub := w.Transaction(jpy).Submissions[0]; sub.Amount != "4999" || sub.Currency != "JPY" {
			t.Errorf("JPY refund %+v", sub)
		}
		// ISO gives HUF two decimals; PayPal none.
		if sub := w.Transaction(huf).Submissions[0]; sub.Amount != "1500" || sub.Currency != "HUF" {
			t.Errorf("HUF refund %+v", sub)
		}
	})
	t.Run("refused before any call, named in the review", func(t *testing.T) {
		for txn, want := range map[string]string{
			kwd:         "PayPal does not take KWD",
			disputed:    "TRANSACTION_DISPUTED",
			notACapture: "is not a PayPal capture ID",
		} {
			st := w.WaitState(txn, remediation.StateAwaitingReview)
			if !strings.Contains(st.LastError, want) {
				t.Errorf("%s: %s, want %q", txn, st.LastError, want)
			}
		}
		if led := w.Transaction(kwd); len(led.Submissions) != 0 {
			t.Errorf("KWD reached PayPal: %+v", led.Submissions)
		}
	})

	led, err := w.Ledger(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if led.Stats.SpecViolations != 0 {
		t.Errorf("requests or webhooks violate PayPal's spec: %q", led.Stats.SpecViolationNotes)
	}
	if led.Stats.Webhooks["paypal_verified"] == 0 || led.Stats.Webhooks["paypal_verify_failed"] == 0 {
		t.Errorf("verify-webhook-signature: %v", led.Stats.Webhooks)
	}
	// The failed refund and its approved successor are two on purpose.
	if multiple := slices.DeleteFunc(led.Summary.MultipleCreations, func(txn string) bool { return txn == failing }); len(multiple) != 0 {
		t.Errorf("refunded twice: %v", multiple)
	}
}
