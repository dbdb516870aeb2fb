package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// pspReference is a unique Adyen-shaped payment reference: rule letters
// (the sandbox's markers), then Z filler and a unique tail, 16 in all.
// Letters, not zeros, fill it: a long enough run of digits could pass the
// Luhn check, and the starter refuses a disposition holding a card number.
func pspReference(t *testing.T, rule string) string {
	t.Helper()
	tail := strings.ToUpper(testenv.Unique(""))
	if len(rule)+len(tail) > 16 {
		t.Fatalf("rule %q too long for a pspReference", rule)
	}
	return rule + strings.Repeat("Z", 16-len(rule)-len(tail)) + tail
}

// TestAdyenSandbox runs refunds through the real programs and the sandbox's
// Adyen side: the worker's Adyen gateway (POST /v71/payments/{psp}/refunds,
// answered 201 received), the sandbox's HMAC-signed standard webhooks to
// the starter's POST /v1/gateway-events/adyen, and, since Adyen has no
// read, the settlement timeout where no webhook comes. Every request the
// worker made passes Adyen's Checkout v71 spec, and every webhook the
// sandbox sent Adyen's Webhooks v1 spec.
func TestAdyenSandbox(t *testing.T) {
	t.Parallel()
	w := startWorld(t, stack.Options{
		Gateway: stack.GatewayAdyen,
		// A dropped webhook is delivered again only after 4 x 10s: long
		// after the 8s settlement timeout.
		SandboxEnv: []string{"REFUNDFLOW_SANDBOX_SETTLE_AFTER=1s", "REFUNDFLOW_SANDBOX_WEBHOOK_DELAY=10s"},
		WorkerEnv:  []string{"REFUNDFLOW_SETTLEMENT_POLL=1s", "REFUNDFLOW_SETTLEMENT_TIMEOUT=8s"},
	})
	txns := map[string]string{}
	start := func(name, rule, code, amount, currency string) {
		txn := pspReference(t, rule)
		txns[name] = txn
		d := testenv.Disposition(txn, code, amount)
		d["currency"] = currency
		if r := w.PostDisposition(d); r.Code != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", name, txn, r.Code, r.Raw)
		}
	}
	start("usd", "K", "Refund_Processed", "49.99", "USD")
	start("jpy", "K", "Refund_Processed", "5000", "JPY")
	start("kwd", "K", "Refund_Processed", "12.345", "KWD")
	start("cve", "K", "Refund_Processed", "1500.00", "CVE")
	start("pending", "PEND", "Refund_Processed", "25.00", "USD")
	start("pfail", "PFAIL", "Refund_Processed", "25.00", "USD")
	start("reverse", "REVERSE", "Refund_Processed", "25.00", "USD")
	start("lost", "KDROP", "Refund_Processed", "25.00", "USD")
	start("dup", "KDUP", "Refund_Processed", "25.00", "USD")
	start("badsig", "KBADSIG", "Refund_Processed", "25.00", "USD")
	start("outage", "FAIL", "Refund_Processed", "25.00", "USD")
	start("hang", "HANG", "Refund_Processed", "25.00", "USD")
	start("chargeback", "K", "Chargeback_Requested", "25.00", "USD")
	notPSP := testenv.Unique("TXN-")
	if r := w.PostDisposition(testenv.Disposition(notPSP, "Refund_Processed", "25.00")); r.Code != http.StatusAccepted {
		t.Fatalf("%s: %d %s", notPSP, r.Code, r.Raw)
	}

	// completedOnce: Completed on Adyen's REFUND webhook, one refund, Genesys
	// told Refund_Pending (Adyen received it) and then Completed.
	completedOnce := func(t *testing.T, txn string) sandbox.TransactionView {
		t.Helper()
		st := w.WaitState(txn, remediation.StateCompleted)
		led := w.WaitTransaction(txn, "the webhooks done and Genesys told", func(v sandbox.TransactionView) bool {
			return webhooksDone(1)(v) && testenv.Told(remediation.RefundStatusCompleted)(v)
		})
		if led.RefundsCreated != 1 || len(led.Submissions) != 1 || st.GatewayStatus != "succeeded" || st.GatewayReference != led.Submissions[0].Reference ||
			led.Submissions[0].IdempotencyKey != txn+":refund" {
			t.Errorf("status %+v, ledger %+v", st, led.Submissions)
		}
		if got := strings.Join(refundStatuses(led), ","); got != remediation.RefundStatusPending+","+remediation.RefundStatusCompleted {
			t.Errorf("Genesys was told %s", got)
		}
		return led
	}

	t.Run("received, then REFUND success=true: Completed, in Adyen's minor units", func(t *testing.T) {
		for name, want := range map[string]int64{"usd": 4999, "jpy": 5000, "kwd": 12345, "cve": 1500} {
			led := completedOnce(t, txns[name])
			if sub := led.Submissions[0]; sub.AmountMinor != want {
				t.Errorf("%s: Adyen received value %d %s, want %d", name, sub.AmountMinor, sub.Currency, want)
			}
			for _, wh := range led.Webhooks {
				if wh.Gateway != "adyen" || wh.State != "delivered" || wh.HTTPStatus != http.StatusOK || wh.Answer != "[accepted]" {
					t.Errorf("%s webhook: %+v", name, wh)
				}
			}
		}
	})
	t.Run("pending for a while, then the webhook: Completed", func(t *testing.T) {
		completedOnce(t, txns["pending"])
	})
	t.Run("a duplicated webhook changes nothing", func(t *testing.T) {
		completedOnce(t, txns["dup"])
		led := w.WaitTransaction(txns["dup"], "both copies delivered", webhooksDone(2))
		if len(led.Webhooks) != 2 || led.Webhooks[0].EventID != led.Webhooks[1].EventID || led.RefundsCreated != 1 {
			t.Errorf("webhooks: %+v", led.Webhooks)
		}
		for _, wh := range led.Webhooks {
			if wh.State != "delivered" || wh.Answer != "[accepted]" {
				t.Errorf("webhook: %+v", wh)
			}
		}
	})
	t.Run("a forged webhook is refused, the genuine one settles it", func(t *testing.T) {
		completedOnce(t, txns["badsig"])
		led := w.WaitTransaction(txns["badsig"], "both sent", webhooksDone(2))
		refused := 0
		for _, wh := range led.Webhooks {
			if wh.Fault == "bad_signature" {
				refused++
				if wh.State != "refused" || wh.HTTPStatus != http.StatusBadRequest {
					t.Errorf("forgery: %+v", wh)
				}
			}
		}
		if refused != 1 {
			t.Errorf("%d forgeries refused: %+v", refused, led.Webhooks)
		}
	})
	t.Run("the webhook lost: the settlement timeout sends it to review", func(t *testing.T) {
		txn := txns["lost"]
		st := w.WaitState(txn, remediation.StateAwaitingReview)
		if !strings.Contains(st.LastError, "gave no final word") || st.GatewayStatus != "received" || st.WorkitemID == "" {
			t.Errorf("review: %+v", st)
		}
		led := w.WaitTransaction(txn, "the review written back", testenv.Told(remediation.RefundStatusFailedReview))
		if led.RefundsCreated != 1 || led.Submissions[0].StatusReads != 0 {
			t.Errorf("ledger: %+v", led.Submissions)
		}
	})
	t.Run("REFUND success=false: review, approve, a renewed key completes", func(t *testing.T) {
		txn := txns["pfail"]
		st := w.WaitState(txn, remediation.StateAwaitingReview)
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "Refund declined by the issuer") || st.WorkitemID == "" {
			t.Errorf("review: %+v", st)
		}
		w.WaitTransaction(txn, "the failure written back", testenv.Told(remediation.RefundStatusFailedReview))
		if r := w.Decide(txn, map[string]any{"decisionId": "dec-adyen-pf", "decision": "approve", "note": "try again"}); r.Code != http.StatusAccepted {
			t.Fatalf("approve: %d %s", r.Code, r.Raw)
		}
		st = w.WaitState(txn, remediation.StateCompleted)
		led := w.WaitTransaction(txn, "Completed", testenv.Told(remediation.RefundStatusCompleted))
		if led.RefundsCreated != 2 || len(led.Submissions) != 2 || led.Submissions[1].IdempotencyKey != txn+":refund:r2" ||
			led.Submissions[0].Status != "failed" || st.GatewayReference != led.Submissions[1].Reference || st.GatewayStatus != "succeeded" {
			t.Errorf("after approval: %+v, status %+v", led.Submissions, st)
		}
	})
	t.Run("REFUNDED_REVERSED after Completed: back in review", func(t *testing.T) {
		txn := txns["reverse"]
		st := w.WaitState(txn, remediation.StateAwaitingReview)
		if st.GatewayStatus != "refunded_reversed" || !strings.Contains(st.LastError, "returned by the shopper's bank") {
			t.Errorf("reopened: %+v", st)
		}
		led := w.WaitTransaction(txn, "the reversal written back", testenv.Told(remediation.RefundStatusReversedReview))
		if got := strings.Join(refundStatuses(led), ","); !strings.HasPrefix(got, remediation.RefundStatusPending+","+remediation.RefundStatusCompleted+",") {
			t.Errorf("Genesys was told %s", got)
		}
		if led.RefundsCreated != 1 || led.GatewayStatus() != "reversed" {
			t.Errorf("ledger: %+v", led.Submissions)
		}
	})
	t.Run("an outage: retried with the same key, review, healed, approved, one refund", func(t *testing.T) {
		txn := txns["outage"]
		st := w.WaitState(txn, remediation.StateAwaitingReview)
		if !strings.Contains(st.LastError, "503") {
			t.Errorf("review: %+v", st)
		}
		led := w.Transaction(txn)
		if len(led.Submissions) != 1 || led.Submissions[0].Requests < 2 || led.RefundsCreated != 0 {
			t.Errorf("retries: %+v", led.Submissions)
		}
		w.Heal(txn)
		if r := w.Decide(txn, map[string]any{"decisionId": "dec-adyen-out", "decision": "approve", "note": "Adyen is back"}); r.Code != http.StatusAccepted {
			t.Fatalf("approve: %d %s", r.Code, r.Raw)
		}
		w.WaitState(txn, remediation.StateCompleted)
		led = w.Transaction(txn)
		if len(led.Submissions) != 1 || led.RefundsCreated != 1 || led.Submissions[0].IdempotencyKey != txn+":refund" {
			t.Errorf("after approval: %+v", led.Submissions)
		}
	})
	t.Run("Adyen made it but the answer was lost: the retry's same key is replayed, one refund", func(t *testing.T) {
		txn := txns["hang"]
		completedOnce(t, txn)
		led := w.Transaction(txn)
		if sub := led.Submissions[0]; sub.Requests < 2 || sub.Replays < 1 || sub.Faults["hang"] != 1 || sub.Creations != 1 {
			t.Errorf("hang then replay: %+v", sub)
		}
	})
	t.Run("a chargeback and a transaction that is no pspReference go to review, Adyen never called", func(t *testing.T) {
		st := w.WaitState(txns["chargeback"], remediation.StateAwaitingReview)
		if !strings.Contains(st.LastError, "chargeback cannot be opened by the merchant at Adyen") {
			t.Errorf("chargeback: %+v", st)
		}
		st = w.WaitState(notPSP, remediation.StateAwaitingReview)
		if !strings.Contains(st.LastError, "not an Adyen pspReference") {
			t.Errorf("not a pspReference: %+v", st)
		}
		for _, txn := range []string{txns["chargeback"], notPSP} {
			if led := w.Transaction(txn); len(led.Submissions) != 0 {
				t.Errorf("%s reached Adyen: %+v", txn, led.Submissions)
			}
		}
	})

	led, err := w.Ledger(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if led.Stats.SpecViolations != 0 {
		t.Errorf("Adyen's spec refuses a request or a webhook: %q", led.Stats.SpecViolationNotes)
	}
}
