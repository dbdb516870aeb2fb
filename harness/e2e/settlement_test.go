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

// webhooksDone is a WaitTransaction condition: n webhooks recorded, none
// still on its way.
func webhooksDone(n int) func(sandbox.TransactionView) bool {
	return func(v sandbox.TransactionView) bool {
		if len(v.Webhooks) < n {
			return false
		}
		for _, wh := range v.Webhooks {
			switch wh.State {
			case "queued", "held", "sending":
				return false
			}
		}
		return true
	}
}

// refundStatuses are the refundStatus values Genesys was told, in order.
func refundStatuses(v sandbox.TransactionView) []string {
	var out []string
	for _, aw := range v.AttributeWrites {
		out = append(out, aw.Attributes["refundStatus"])
	}
	return out
}

// TestGatewaySettlesLater runs refunds the gateway settles after it took
// them, through the real programs: the sandbox's webhooks to the starter
// and the worker's polls of the sandbox's status read.
func TestGatewaySettlesLater(t *testing.T) {
	t.Parallel()
	// Genesys's limit scaled with the test's compressed time (as the chaos
	// run does): at 300 a minute the Completed write-back of REVERSE- can
	// still wait on the paced queue when its reversal arrives 2 s later,
	// and the open run takes the reversal instead of a reopened one.
	w := startWorld(t, stack.Options{
		SandboxEnv: []string{"REFUNDFLOW_SANDBOX_SETTLE_AFTER=2s", "REFUNDFLOW_SANDBOX_WEBHOOK_DELAY=1s", "REFUNDFLOW_SANDBOX_GENESYS_RATE_LIMIT=3000"},
		WorkerEnv:  []string{"REFUNDFLOW_SETTLEMENT_POLL=1s", "REFUNDFLOW_SETTLEMENT_TIMEOUT=5m", "REFUNDFLOW_GENESYS_RATE_LIMIT=3000"},
	})
	txns := map[string]string{}
	for _, kind := range []string{"PENDING-", "PENDING-DROP-", "PENDFAIL-", "REVERSE-", "PENDING-DUP-", "PENDING-REORDER-", "PENDING-BADSIG-"} {
		txn := testenv.Unique(kind)
		txns[kind] = txn
		if r := w.PostDisposition(testenv.Disposition(txn, "Refund_Processed", "25.00")); r.Code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", txn, r.Code, r.Raw)
		}
	}

	// Completed only where the gateway's final word is succeeded, with one
	// refund, Genesys told Refund_Pending and then Completed, nothing more.
	completedOnce := func(t *testing.T, txn string, webhooks int) sandbox.TransactionView {
		t.Helper()
		st := w.WaitState(txn, remediation.StateCompleted)
		led := w.WaitTransaction(txn, "the webhooks settled and Genesys told", func(v sandbox.TransactionView) bool {
			// Completed is the state before its write-back lands.
			return webhooksDone(webhooks)(v) && testenv.Told(remediation.RefundStatusCompleted)(v)
		})
		if led.RefundsCreated != 1 || led.GatewayStatus() != "succeeded" || st.GatewayStatus != "succeeded" || st.GatewayReference != led.Submissions[0].Reference {
			t.Errorf("status %+v, ledger %+v", st, led.Submissions)
		}
		if got := strings.Join(refundStatuses(led), ","); got != remediation.RefundStatusPending+","+remediation.RefundStatusCompleted {
			t.Errorf("Genesys was told %s", got)
		}
		if st := w.WaitState(txn, remediation.StateCompleted); len(st.Decisions) != 0 {
			t.Errorf("decisions: %+v", st.Decisions)
		}
		return led
	}

	t.Run("webhook settles a pending refund", func(t *testing.T) {
		led := completedOnce(t, txns["PENDING-"], 2)
		for _, wh := range led.Webhooks {
			if wh.State != "delivered" || wh.HTTPStatus != http.StatusOK {
				t.Errorf("webhook: %+v", wh)
			}
		}
	})
	t.Run("a dropped webhook: the poll settles it", func(t *testing.T) {
		led := completedOnce(t, txns["PENDING-DROP-"], 4)
		dropped := 0
		for _, wh := range led.Webhooks {
			if wh.Fault == "dropped" {
				dropped++
				if wh.State != "dropped" || wh.Attempts != 0 {
					t.Errorf("webhook: %+v", wh)
				}
			}
		}
		if dropped != 2 {
			t.Errorf("%d dropped deliveries, want 2: %+v", dropped, led.Webhooks)
		}
		if led.Submissions[0].StatusReads == 0 {
			t.Errorf("never polled: %+v", led.Submissions[0])
		}
	})
	t.Run("duplicate events change nothing", func(t *testing.T) {
		led := completedOnce(t, txns["PENDING-DUP-"], 4)
		ids := map[string]int{}
		for _, wh := range led.Webhooks {
			if wh.State != "delivered" {
				t.Errorf("webhook: %+v", wh)
			}
			ids[wh.EventID]++
		}
		if len(ids) != 2 {
			t.Errorf("events: %v", ids)
		}
	})
	t.Run("a reordered event changes nothing", func(t *testing.T) {
		led := completedOnce(t, txns["PENDING-REORDER-"], 2)
		var held, settled *sandbox.Webhook
		for _, wh := range led.Webhooks {
			if wh.State != "delivered" {
				t.Errorf("webhook: %+v", wh)
			}
			switch wh.Status {
			case "pending":
				held = wh
			case "succeeded":
				settled = wh
			}
		}
		if held == nil || settled == nil || held.Fault != "reordered" || held.SentAt == nil || settled.SentAt == nil || held.SentAt.Before(*settled.SentAt) {
			t.Errorf("pending %+v, succeeded %+v", held, settled)
		}
	})
	t.Run("a bad signature is refused", func(t *testing.T) {
		led := completedOnce(t, txns["PENDING-BADSIG-"], 4)
		forged := 0
		for _, wh := range led.Webhooks {
			if wh.Fault == "bad_signature" {
				forged++
				if wh.State != "refused" || wh.HTTPStatus != http.StatusBadRequest || wh.Attempts != 1 {
					t.Errorf("webhook: %+v", wh)
				}
			}
		}
		if forged != 2 {
			t.Errorf("%d forged webhooks, want 2: %+v", forged, led.Webhooks)
		}
	})

	t.Run("failed: review, approve, a renewed key completes", func(t *testing.T) {
		txn := txns["PENDFAIL-"]
		st := w.WaitReview(txn)
		if st.GatewayStatus != "failed" || !strings.Contains(st.LastError, "declined the refund") || st.WorkitemID == "" {
			t.Errorf("review: %+v", st)
		}
		w.WaitTransaction(txn, "the failure written back", testenv.Told(remediation.RefundStatusFailedReview))
		if r := w.Decide(txn, map[string]any{"decisionId": "dec-pf", "decision": "approve", "note": "try again"}); r.Code != http.StatusAccepted {
			t.Fatalf("approve: %d %s", r.Code, r.Raw)
		}
		st = w.WaitState(txn, remediation.StateCompleted)
		led := w.WaitTransaction(txn, "Completed", testenv.Told(remediation.RefundStatusCompleted))
		if led.RefundsCreated != 2 || len(led.Submissions) != 2 || led.Submissions[1].IdempotencyKey != txn+":refund:r2" ||
			led.Submissions[0].Status != "failed" || led.GatewayStatus() != "succeeded" || st.GatewayReference != led.Submissions[1].Reference {
			t.Errorf("after approval: %+v, status %+v", led.Submissions, st)
		}
	})

	t.Run("reversed after Completed: back in review, resolved", func(t *testing.T) {
		txn := txns["REVERSE-"]
		st := w.WaitState(txn, remediation.StateAwaitingReview)
		if st.GatewayStatus != "reversed" || !strings.Contains(st.LastError, "reversed") {
			t.Errorf("reopened: %+v", st)
		}
		led := w.WaitTransaction(txn, "the reversal written back", testenv.Told(remediation.RefundStatusReversedReview))
		if got := strings.Join(refundStatuses(led), ","); !strings.HasPrefix(got, remediation.RefundStatusCompleted+",") {
			t.Errorf("Genesys was told %s", got)
		}
		reopened := false
		for _, wh := range led.Webhooks {
			if wh.Status == "reversed" && wh.Answer == "reopened" {
				reopened = true
			}
		}
		if !reopened || led.GatewayStatus() != "reversed" || led.RefundsCreated != 1 {
			t.Errorf("ledger: %+v %+v", led.Submissions, led.Webhooks)
		}
		// The review's one workitem, closed with the first review, is open
		// again in front of finance.
		led = w.WaitTransaction(txn, "the workitem reopened", func(v sandbox.TransactionView) bool {
			return len(v.Workitems) == 1 && v.Workitems[0].StatusCategory != "Closed"
		})
		if len(led.Workitems) != 1 || led.Workitems[0].ID != st.WorkitemID {
			t.Errorf("workitems %+v, status workitem %s", led.Workitems, st.WorkitemID)
		}
		if r := w.Decide(txn, map[string]any{"decisionId": "dec-rv", "decision": "resolved", "note": "refunded by bank transfer"}); r.Code != http.StatusAccepted {
			t.Fatalf("resolve: %d %s", r.Code, r.Raw)
		}
		w.WaitState(txn, remediation.StateResolvedManually)
		if led := w.WaitTransaction(txn, "ResolvedManually", testenv.Told(remediation.RefundStatusResolvedManually)); led.RefundsCreated != 1 {
			t.Errorf("a resolution refunded: %+v", led.Submissions)
		}
	})
}
