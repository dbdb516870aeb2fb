package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// TestStripeRefundEndToEnd: webhook -> workflow -> Stripe (stripe-mock,
// which validates every request against Stripe's OpenAPI spec) ->
// Completed, with the re_ reference in the status and on the Genesys
// interaction. A chargeback under Stripe goes to review with the reason.
func TestStripeRefundEndToEnd(t *testing.T) {
	t.Parallel()
	w := startWorld(t, stack.Options{Gateway: stack.GatewayStripe, StripeURL: testenv.StartStripeMock(t)})

	txn := testenv.Unique("pi_E2E")
	if r := w.PostDisposition(testenv.Disposition(txn, "Refund_Processed", "49.99")); r.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Code, r.Raw)
	}
	st := w.WaitState(txn, remediation.StateCompleted)
	if !strings.HasPrefix(st.GatewayReference, "re_") {
		t.Fatalf("gateway reference %q, want a Stripe refund id", st.GatewayReference)
	}
	led := w.WaitTransaction(txn, "Completed", testenv.Told(remediation.RefundStatusCompleted))
	if led.LastRefundStatus() != remediation.RefundStatusCompleted || led.AttributeWrites[len(led.AttributeWrites)-1].Attributes["refundReference"] != st.GatewayReference {
		t.Errorf("Genesys attributes: %+v", led.AttributeWrites)
	}
	if led.GatewayRequests != 0 {
		t.Errorf("the sandbox gateway was called under Stripe: %+v", led)
	}

	cb := testenv.Unique("ch_E2E")
	if r := w.PostDisposition(testenv.Disposition(cb, "Chargeback_Requested", "10.00")); r.Code != http.StatusAccepted {
		t.Fatalf("chargeback: %d %s", r.Code, r.Raw)
	}
	st = w.WaitState(cb, remediation.StateAwaitingReview)
	if !strings.Contains(st.LastError, "Configuration") || !strings.Contains(strings.ToLower(st.LastError), "chargeback") {
		t.Errorf("chargeback under Stripe: %q", st.LastError)
	}
}
