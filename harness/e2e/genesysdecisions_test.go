package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
	"github.com/refundflow/refundflow/workflows"
)

// financeUser is the Genesys user in finance ops who decides in Workspace.
const financeUser = "f1a2c3e4-0000-4000-8000-00000000f00d"

// TestDecisionsFromGenesys: finance ops decide a review by setting its
// workitem's status in Genesys; the Process Automation trigger's Data
// Action posts the workitem's id to the starter, and the worker reads the
// workitem back and applies what it says, through the built programs and
// the sandbox.
func TestDecisionsFromGenesys(t *testing.T) {
	t.Parallel()
	w := startWorld(t, stack.Options{})
	ctx := t.Context()

	review := func(prefix string) (string, string) {
		t.Helper()
		txn := testenv.Unique(prefix)
		if r := w.PostDisposition(testenv.Disposition(txn, "Refund_Processed", "20.00")); r.Code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", txn, r.Code, r.Raw)
		}
		st := w.WaitReview(txn)
		if st.WorkitemID == "" {
			t.Fatalf("%s: no workitem: %+v", txn, st)
		}
		return txn, st.WorkitemID
	}
	setStatus := func(workitemID, status, user string, fields map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"status": status, "userId": user, "customFields": fields})
		resp, err := http.Post(w.Stack.SandboxURL+"/sandbox/genesys/workitems/"+workitemID+"/status", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("set %s: %d", status, resp.StatusCode)
		}
	}
	// post posts the event and returns the workflow that reads the
	// workitem; wait waits for it to have applied what the workitem says.
	post := func(event map[string]any) stack.Reply {
		t.Helper()
		r := w.Call(http.MethodPost, w.StarterURL()+"/v1/genesys-events/workitem", w.WebhookToken, event)
		if r.Code != http.StatusAccepted || r.Body["status"] != "accepted" {
			t.Fatalf("event %v: %d %s", event, r.Code, r.Raw)
		}
		return r
	}
	wait := func(r stack.Reply) workflows.WorkitemDecisionOutcome {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		var out workflows.WorkitemDecisionOutcome
		runID, _ := r.Body["runId"].(string)
		if err := w.Stack.Client.GetWorkflow(wctx, r.Body["workflowId"].(string), runID).Get(wctx, &out); err != nil {
			t.Fatalf("%s: %v", r.Raw, err)
		}
		return out
	}
	deliver := func(event map[string]any) workflows.WorkitemDecisionOutcome {
		t.Helper()
		return wait(post(event))
	}

	// Approved in Genesys, with a corrected amount: refunded once, by the
	// finance user; the same event again changes nothing.
	approved, approvedItem := review("FAIL-GA-")
	w.Heal(approved)
	setStatus(approvedItem, "Approved", financeUser, map[string]any{"refundamount_text": "15.00"})
	// Delivered twice, at once, as a retrying Data Action may.
	first, second := post(map[string]any{"workitemId": approvedItem}), post(map[string]any{"workitemId": approvedItem})
	signalled := append(wait(first).Signalled, wait(second).Signalled...)
	if len(signalled) == 0 {
		t.Fatalf("approved: no decision signalled")
	}
	for _, id := range signalled {
		if id != signalled[0] {
			t.Errorf("one status change, several decisionIds: %v", signalled)
		}
	}
	st := w.WaitState(approved, remediation.StateCompleted)
	if countApplied(st) != 1 || st.Decisions[0].Approver != "genesys:"+financeUser || st.Decisions[0].Outcome != remediation.OutcomeApplied ||
		st.AmountMinor != 1500 || st.Decisions[0].DecisionID != signalled[0] {
		t.Errorf("approved status: %+v", st)
	}
	// Redelivered after the decision took effect: the workitem says the
	// same (or, closed by now, nothing), and nothing new is applied.
	again := deliver(map[string]any{"workitemId": approvedItem})
	for _, id := range again.Signalled {
		if id != st.Decisions[0].DecisionID {
			t.Errorf("redelivered: another decision %s, want none or %s again", id, st.Decisions[0].DecisionID)
		}
	}
	led := w.Transaction(approved)
	// The submissions before the heal failed; the approval's, with the
	// corrected amount and its own Idempotency-Key, is the one refund.
	last := led.Submissions[len(led.Submissions)-1]
	if led.RefundsCreated != 1 || last.AmountMinor != 1500 || last.IdempotencyKey != approved+":refund:1500" {
		t.Errorf("approved: refunds %d, last submission %+v", led.RefundsCreated, *last)
	}
	// Each delivery may be read and signalled; all are one decision.
	st = w.WaitState(approved, remediation.StateCompleted)
	for _, d := range st.Decisions {
		if d.DecisionID != st.Decisions[0].DecisionID || (d.Outcome != remediation.OutcomeApplied && d.Outcome != remediation.OutcomeDuplicate) {
			t.Errorf("after the redelivery: %+v", st.Decisions)
		}
	}
	if countApplied(st) != 1 {
		t.Errorf("after the redelivery: %+v", st.Decisions)
	}

	// Rejected in Genesys, told by the whole trigger event: Rejected.
	rejected, rejectedItem := review("FAIL-GR-")
	setStatus(rejectedItem, "Rejected", financeUser, nil)
	deliver(map[string]any{"topicName": "v2.taskmanagement.workitems." + rejectedItem, "eventBody": map[string]any{"id": rejectedItem, "statusId": "whatever the body says"}})
	st = w.WaitState(rejected, remediation.StateRejected)
	if led := w.Transaction(rejected); led.RefundsCreated != 0 {
		t.Errorf("rejected, yet refunded: %+v", led)
	}

	// Set by the agent who took the call: refused and recorded.
	own, ownItem := review("FAIL-GO-")
	w.Heal(own)
	setStatus(ownItem, "Approved", stack.AgentID, nil)
	deliver(map[string]any{"workitemId": ownItem})
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	st, err := w.WaitStatus(wctx, own, func(s remediation.Status) bool { return len(s.Decisions) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	if st.State != remediation.StateAwaitingReview || st.Decisions[0].Outcome != remediation.OutcomeRefused || !strings.Contains(st.Decisions[0].Reason, "four-eyes") ||
		st.Decisions[0].Approver != "genesys:"+stack.AgentID {
		t.Errorf("approved by the agent: %+v", st)
	}

	// A forged event: its workitem says nothing was decided (Open), or no
	// such workitem exists. Nothing happens.
	forged, forgedItem := review("FAIL-GF-")
	w.Heal(forged)
	if out := deliver(map[string]any{"workitemId": forgedItem, "statusId": "Approved", "modifiedBy": financeUser}); len(out.Signalled) != 0 {
		t.Errorf("forged event applied: %+v", out)
	}
	if out := deliver(map[string]any{"workitemId": "0f0f0f0f-0000-4000-8000-000000000bad"}); len(out.Signalled) != 0 {
		t.Errorf("event about no workitem applied: %+v", out)
	}
	if st := w.WaitState(forged, remediation.StateAwaitingReview); len(st.Decisions) != 0 {
		t.Errorf("forged: %+v", st.Decisions)
	}
	if led := w.Transaction(forged); led.RefundsCreated != 0 {
		t.Errorf("forged, yet refunded: %+v", led)
	}
	// Not a workitem id, or not the webhook's token: refused at the door.
	if r := w.Call(http.MethodPost, w.StarterURL()+"/v1/genesys-events/workitem", w.WebhookToken, map[string]any{"workitemId": "q-finance"}); r.Code != http.StatusBadRequest {
		t.Errorf("not a UUID: %d %s", r.Code, r.Raw)
	}
	if r := w.Call(http.MethodPost, w.StarterURL()+"/v1/genesys-events/workitem", "wrong", map[string]any{"workitemId": forgedItem}); r.Code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", r.Code)
	}
}

func countApplied(st remediation.Status) int {
	n := 0
	for _, d := range st.Decisions {
		if d.Outcome == remediation.OutcomeApplied {
			n++
		}
	}
	return n
}
