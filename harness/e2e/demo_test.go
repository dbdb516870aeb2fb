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

// TestDemoStory is what `make demo` shows, asserted: a refund that
// succeeds, the same webhook again, a gateway outage that ends in review,
// an approval that completes it, a card number rejected.
func TestDemoStory(t *testing.T) {
	t.Parallel()
	w := startWorld(t, stack.Options{})

	// 1. A refund that succeeds.
	ok := testenv.Unique("OK-")
	r := w.PostDisposition(testenv.Disposition(ok, "Refund_Processed", "49.99"))
	if r.Code != http.StatusAccepted || r.Body["status"] != "started" || r.Body["workflowId"] != "remediation-"+ok {
		t.Fatalf("refund: %d %s", r.Code, r.Raw)
	}
	st := w.WaitState(ok, remediation.StateCompleted)
	led := w.WaitTransaction(ok, "Completed", testenv.Told(remediation.RefundStatusCompleted))
	if led.RefundsCreated != 1 || len(led.Submissions) != 1 || led.Submissions[0].IdempotencyKey != ok+":refund" || led.Submissions[0].AmountMinor != 4999 {
		t.Fatalf("ledger after refund: %+v", led)
	}
	if st.GatewayReference == "" || st.GatewayReference != led.Submissions[0].Reference {
		t.Errorf("status reference %q, gateway reference %q", st.GatewayReference, led.Submissions[0].Reference)
	}
	if led.LastRefundStatus() != remediation.RefundStatusCompleted || led.AttributeWrites[0].Attributes["refundReference"] != st.GatewayReference {
		t.Errorf("Genesys was told %+v", led.AttributeWrites)
	}

	// 2. The same webhook again: a duplicate, nothing new at the gateway.
	r = w.PostDisposition(testenv.Disposition(ok, "Refund_Processed", "49.99"))
	if r.Code != http.StatusOK || r.Body["status"] != "duplicate" || r.Body["state"] != "Completed" {
		t.Fatalf("duplicate: %d %s", r.Code, r.Raw)
	}
	// A chargeback for the same transaction lands on the same workflow too.
	r = w.PostDisposition(testenv.Disposition(ok, "Chargeback_Requested", "49.99"))
	if r.Code != http.StatusOK || r.Body["status"] != "duplicate" {
		t.Fatalf("chargeback on a refunded transaction: %d %s", r.Code, r.Raw)
	}
	if led := w.Transaction(ok); led.RefundsCreated != 1 || led.ChargebacksCreated != 0 || led.GatewayRequests != 1 {
		t.Fatalf("ledger after duplicates: %+v", led)
	}

	// 3. A gateway outage that ends in review.
	down := testenv.Unique("FAIL-")
	if r := w.PostDisposition(testenv.Disposition(down, "Refund_Processed", "20.00")); r.Code != http.StatusAccepted {
		t.Fatalf("outage refund: %d %s", r.Code, r.Raw)
	}
	st = w.WaitReview(down)
	if !strings.Contains(st.LastError, "GatewayUnavailable") || !strings.Contains(st.LastError, "retry window") || st.WorkitemID == "" {
		t.Errorf("review status: %+v", st)
	}
	led = w.WaitTransaction(down, "the failure written back", func(v sandbox.TransactionView) bool {
		return v.LastRefundStatus() == remediation.RefundStatusFailedReview && len(v.Wrapups) > 0
	})
	if led.RefundsCreated != 0 || led.GatewayRequests < 2 {
		t.Errorf("an outage must be retried and create nothing: %+v", led)
	}
	if len(led.Workitems) != 1 || led.Workitems[0].ID != st.WorkitemID || !strings.Contains(led.Workitems[0].Description, "20.00") {
		t.Errorf("workitems: %+v (status workitem %q)", led.Workitems, st.WorkitemID)
	}
	if led.LastRefundStatus() != remediation.RefundStatusFailedReview || len(led.Wrapups) != 1 || led.Wrapups[0].Code != stack.FailedWrapupCodeID {
		t.Errorf("Genesys write-back of the failure: %+v %+v", led.AttributeWrites, led.Wrapups)
	}
	// Finance ops cannot decide on a finished one, nor with a webhook token.
	if r := w.Decide(ok, map[string]any{"decision": "approve"}); r.Code != http.StatusConflict {
		t.Errorf("decision on a completed transaction: %d %s", r.Code, r.Raw)
	}
	if r := w.Call(http.MethodPost, w.StarterURL()+"/v1/remediations/"+down+"/decision", w.WebhookToken, map[string]any{"decision": "approve"}); r.Code != http.StatusUnauthorized {
		t.Errorf("decision with the webhook token: %d", r.Code)
	}

	// 4. The gateway recovers; finance approves; it completes, once.
	w.Heal(down)
	r = w.Decide(down, map[string]any{"decisionId": "dec-1", "decision": "approve", "note": "gateway back"})
	if r.Code != http.StatusAccepted || r.Body["decisionId"] != "dec-1" {
		t.Fatalf("approve: %d %s", r.Code, r.Raw)
	}
	st = w.WaitState(down, remediation.StateCompleted)
	if len(st.Decisions) != 1 || st.Decisions[0].Approver != "alice" || st.Decisions[0].Outcome != remediation.OutcomeApplied {
		t.Errorf("decisions: %+v", st.Decisions)
	}
	led = w.WaitTransaction(down, "Completed", testenv.Told(remediation.RefundStatusCompleted))
	if led.RefundsCreated != 1 || led.Submissions[0].IdempotencyKey != down+":refund" || led.LastRefundStatus() != remediation.RefundStatusCompleted {
		t.Errorf("after approval: %+v", led)
	}
	if len(led.Workitems) != 1 {
		t.Errorf("one workitem per transaction, got %d", len(led.Workitems))
	}
	// The review is over: its workitem leaves the finance queue, closed
	// with the outcome, who decided and the gateway's reference.
	led = w.WaitTransaction(down, "the workitem closed", func(v sandbox.TransactionView) bool {
		return len(v.Workitems) == 1 && v.Workitems[0].StatusCategory == "Closed"
	})
	wantOutcome := "Review closed: Completed, decided by alice (decision dec-1)"
	if wi := led.Workitems[0]; !strings.Contains(wi.Description, wantOutcome) || !strings.HasSuffix(wi.Description, "; gateway reference "+st.GatewayReference+".") {
		t.Errorf("closed workitem: %+v", wi)
	}

	// 5. A card number is refused and starts nothing.
	card := testenv.Unique("CARD-")
	body := testenv.Disposition(card, "Refund_Processed", "10.00")
	body["notes"] = "customer read out 4111 1111 1111 1111"
	if r := w.PostDisposition(body); r.Code != http.StatusUnprocessableEntity || r.Body["error"] != "cardholder data rejected" {
		t.Fatalf("card number: %d %s", r.Code, r.Raw)
	}
	if r := w.Call(http.MethodGet, w.StarterURL()+"/v1/remediations/"+card, w.ApproverToken, nil); r.Code != http.StatusNotFound {
		t.Errorf("a rejected disposition left a workflow: %d %s", r.Code, r.Raw)
	}

	// And the non-financial code is ignored.
	if r := w.PostDisposition(testenv.Disposition(testenv.Unique("IGN-"), "Issue_Resolved", "1.00")); r.Code != http.StatusOK || r.Body["status"] != "ignored" {
		t.Errorf("ignored: %d %s", r.Code, r.Raw)
	}
}
