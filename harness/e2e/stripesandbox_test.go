package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// TestStripeSandboxSettlesLater runs Stripe refunds that settle after
// Stripe took them, through the real programs and the sandbox's Stripe
// side: the worker's Stripe gateway, the sandbox's signed Stripe webhooks
// to the starter's POST /v1/gateway-events/stripe, and the worker's
// GET /v1/refunds/{id} polls. Every request the worker made passes
// Stripe's OpenAPI spec.
func TestStripeSandboxSettlesLater(t *testing.T) {
	t.Parallel()
	w := startWorld(t, stack.Options{
		Gateway:    stack.GatewayStripe,
		SandboxEnv: []string{"REFUNDFLOW_SANDBOX_SETTLE_AFTER=2s"},
		WorkerEnv:  []string{"REFUNDFLOW_SETTLEMENT_POLL=1s", "REFUNDFLOW_SETTLEMENT_TIMEOUT=5m"},
	})
	pending := testenv.Unique("pi_pending_e2e")
	failing := testenv.Unique("pi_pendfail_e2e")
	forged := testenv.Unique("pi_pending_e2e-BADSIG-")
	reversed := testenv.Unique("pi_reverse_e2e")
	for _, txn := range []string{pending, failing, forged, reversed} {
		if r := w.PostDisposition(testenv.Disposition(txn, "Refund_Processed", "25.00")); r.Code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", txn, r.Code, r.Raw)
		}
	}

	t.Run("pending, a Stripe webhook settles it: Completed", func(t *testing.T) {
		st := w.WaitState(pending, remediation.StateCompleted)
		led := w.WaitTransaction(pending, "the webhooks settled and Genesys told", func(v sandbox.TransactionView) bool {
			// Completed is the state before its write-back lands.
			return webhooksDone(2)(v) && testenv.Told(remediation.RefundStatusCompleted)(v)
		})
		if led.RefundsCreated != 1 || led.GatewayStatus() != "succeeded" || st.GatewayStatus != "succeeded" ||
			st.GatewayReference != led.Submissions[0].Reference || !strings.HasPrefix(st.GatewayReference, "re_") {
			t.Errorf("status %+v, ledger %+v", st, led.Submissions)
		}
		for _, wh := range led.Webhooks {
			if wh.Gateway != "stripe" || wh.State != "delivered" || wh.HTTPStatus != http.StatusOK {
				t.Errorf("webhook: %+v", wh)
			}
		}
		// The starter verified the signature and signalled the open run
		// (the settling event may find it already Completed by a poll).
		if len(led.Webhooks) == 0 || led.Webhooks[0].Answer != "delivered" {
			t.Errorf("the first Stripe event was not delivered to the workflow: %+v", led.Webhooks)
		}
		if got := strings.Join(refundStatuses(led), ","); got != remediation.RefundStatusPending+","+remediation.RefundStatusCompleted {
			t.Errorf("Genesys was told %s", got)
		}
	})
	t.Run("a forged signature is refused, nothing applied from it", func(t *testing.T) {
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
	t.Run("pending, then failed: review", func(t *testing.T) {
		st := w.WaitReview(failing)
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "expired_or_canceled_card") || st.WorkitemID == "" {
			t.Errorf("review: %+v", st)
		}
		led := w.WaitTransaction(failing, "the failure written back", testenv.Told(remediation.RefundStatusFailedReview))
		if led.RefundsCreated != 1 || led.GatewayStatus() != "failed" {
			t.Errorf("ledger: %+v", led.Submissions)
		}
	})
	t.Run("succeeded, then failed at Stripe: back in review", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		st, err := w.WaitStatus(ctx, reversed, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.GatewayStatus == "failed"
		})
		if err != nil {
			t.Fatal(err)
		}
		led := w.WaitTransaction(reversed, "the failure written back", func(v sandbox.TransactionView) bool {
			s := v.LastRefundStatus()
			return s == remediation.RefundStatusReversedReview || s == remediation.RefundStatusFailedReview
		})
		if got := strings.Join(refundStatuses(led), ","); !strings.HasPrefix(got, remediation.RefundStatusCompleted+",") {
			t.Errorf("Genesys was told %s (status %+v)", got, st)
		}
		if led.RefundsCreated != 1 || led.GatewayStatus() != "failed" {
			t.Errorf("ledger: %+v", led.Submissions)
		}
	})

	led, err := w.Ledger(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if led.Stats.SpecViolations != 0 {
		t.Errorf("the worker's Stripe requests violate Stripe's spec: %q", led.Stats.SpecViolationNotes)
	}
	if len(led.Summary.MultipleCreations) != 0 {
		t.Errorf("refunded twice: %v", led.Summary.MultipleCreations)
	}
}
