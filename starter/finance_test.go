package main

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/request"
)

// TestFinanceAPI drives the status and decision endpoints against a real
// dev server and the real workflow.
func TestFinanceAPI(t *testing.T) {
	t.Parallel()
	const queue = "finance-test"
	env, _ := startTemporal(t, queue)
	api := newAPIServer(t, env.HostPort, queue, 5*time.Second)

	// awaitingReview starts a remediation that waits for finance ops.
	awaitingReview := func(t *testing.T, prefix string) string {
		t.Helper()
		txn := txnID(prefix)
		if resp := api.postDisposition(dispositionBody(txn, "Escalation_Sent", "20.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
		})
		return txn
	}

	t.Run("approve: 202, then the workflow records it and completes", func(t *testing.T) {
		t.Parallel()
		txn := awaitingReview(t, "approve")
		resp := api.decide(txn, aliceToken, map[string]any{"decision": "approve", "note": "checked the order", "refundAmount": 15.5})
		if resp.code != http.StatusAccepted || resp.str("status") != "sent" {
			t.Fatalf("got %d %s", resp.code, resp.raw)
		}
		id := resp.str("decisionId")
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
			t.Errorf("generated decisionId %q is not a v4 UUID", id)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if len(st.Decisions) != 1 {
			t.Fatalf("decisions %+v", st.Decisions)
		}
		d := st.Decisions[0]
		if d.DecisionID != id || d.Approver != "alice" || d.Outcome != remediation.OutcomeApplied ||
			d.Note != "checked the order" || d.RefundAmount != "15.5" || st.AmountMinor != 1550 {
			t.Errorf("recorded %+v, amount %d", d, st.AmountMinor)
		}
		if st.GatewayReference != "gw-"+txn {
			t.Errorf("gateway reference %q", st.GatewayReference)
		}
		// 409 once it is no longer awaiting review.
		again := api.decide(txn, bobToken, map[string]any{"decision": "reject"})
		if again.code != http.StatusConflict || again.str("state") != string(remediation.StateCompleted) {
			t.Errorf("decision on a completed remediation: %d %s", again.code, again.raw)
		}
	})

	t.Run("reject with a caller decisionId", func(t *testing.T) {
		t.Parallel()
		txn := awaitingReview(t, "reject")
		resp := api.decide(txn, bobToken, map[string]any{"decisionId": "ops-ticket-77", "decision": " Reject ", "note": "duplicate claim"})
		if resp.code != http.StatusAccepted || resp.str("decisionId") != "ops-ticket-77" {
			t.Fatalf("got %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateRejected })
		if st.Decisions[0].Approver != "bob" || st.Decisions[0].Decision.Decision != remediation.DecisionReject {
			t.Errorf("recorded %+v", st.Decisions)
		}
		// The same request again, after it ended the review: the
		// contract's 409, which shows the decision was recorded.
		again := api.decide(txn, bobToken, map[string]any{"decisionId": "ops-ticket-77", "decision": "reject", "note": "duplicate claim"})
		rec, _ := again.body["recorded"].(map[string]any)
		if again.code != http.StatusConflict || again.str("state") != "Rejected" || rec["decisionId"] != "ops-ticket-77" || rec["outcome"] != remediation.OutcomeApplied {
			t.Errorf("retried decision: %d %s", again.code, again.raw)
		}
		// The same decisionId for something else is no retry.
		for name, retry := range map[string]struct {
			token string
			body  map[string]any
		}{
			"another approver": {aliceToken, map[string]any{"decisionId": "ops-ticket-77", "decision": "reject"}},
			"another decision": {bobToken, map[string]any{"decisionId": "ops-ticket-77", "decision": "resolved"}},
		} {
			if resp := api.decide(txn, retry.token, retry.body); resp.code != http.StatusConflict || resp.body["recorded"] != nil {
				t.Errorf("%s with a used decisionId: %d %s", name, resp.code, resp.raw)
			}
		}
		if st := api.status(txn, aliceToken); len(st.body["decisions"].([]any)) != 1 {
			t.Errorf("decisions after the retries: %s", st.raw)
		}
	})

	t.Run("a retry while the review waits: 202, not sent again", func(t *testing.T) {
		t.Parallel()
		// alice took the call, so her approval is refused (four eyes) and
		// the review goes on waiting.
		txn := txnID("retry-waiting")
		body := dispositionBody(txn, "Escalation_Sent", "20.00")
		body["agentId"] = "alice"
		if resp := api.postDisposition(body); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool {
			return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
		})
		decision := map[string]any{"decisionId": "d-own", "decision": "approve"}
		if resp := api.decide(txn, aliceToken, decision); resp.code != http.StatusAccepted {
			t.Fatalf("first: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return len(s.Decisions) == 1 })
		again := api.decide(txn, aliceToken, decision)
		if again.code != http.StatusAccepted || again.str("decisionId") != "d-own" {
			t.Errorf("retry: %d %s", again.code, again.raw)
		}
		// A decision sent after the retry is recorded after it: had the
		// retry been sent, its record would come first.
		if resp := api.decide(txn, bobToken, map[string]any{"decisionId": "d-bob", "decision": "reject"}); resp.code != http.StatusAccepted {
			t.Fatalf("bob: %d %s", resp.code, resp.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateRejected })
		var ids []string
		for _, d := range st.Decisions {
			ids = append(ids, d.DecisionID+":"+d.Outcome)
		}
		if want := []string{"d-own:" + remediation.OutcomeRefused, "d-bob:" + remediation.OutcomeApplied}; !slices.Equal(ids, want) {
			t.Errorf("decisions %v, want %v", ids, want)
		}
	})

	t.Run("status", func(t *testing.T) {
		t.Parallel()
		txn := awaitingReview(t, "status")
		resp := api.status(txn, aliceToken)
		if resp.code != http.StatusOK || resp.str("state") != "AwaitingReview" || resp.str("transactionId") != txn ||
			resp.str("action") != "review" || resp.body["amountMinor"] != float64(2000) || resp.str("currency") != "USD" ||
			resp.header.Get("X-Refundflow-Status-Source") != "query" {
			t.Fatalf("got %d %s", resp.code, resp.raw)
		}
		if _, ok := resp.body["decisions"].([]any); !ok {
			t.Errorf("decisions is not a list: %s", resp.raw)
		}
		if resp := api.status(txnID("unknown"), aliceToken); resp.code != http.StatusNotFound {
			t.Errorf("unknown transaction: %d %s", resp.code, resp.raw)
		}
		if resp := api.status("bad%20id", aliceToken); resp.code != http.StatusBadRequest {
			t.Errorf("bad transaction ID: %d %s", resp.code, resp.raw)
		}
	})

	t.Run("status while the gateway call is retried", func(t *testing.T) {
		t.Parallel()
		txn := txnID("retry")
		if resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "3.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		// The status query's own fields stay as the workflow answers them;
		// the retries are beside them.
		deadline := time.Now().Add(15 * time.Second)
		var during response
		for {
			during = api.status(txn, aliceToken)
			if _, ok := during.body["retrying"]; ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		retrying, _ := during.body["retrying"].(map[string]any)
		if during.str("state") != "Submitting" || during.str("lastError") != "" || retrying["activity"] != "SubmitRefund" ||
			retrying["failedTries"] == nil || retrying["failedTries"].(float64) < 1 ||
			retrying["lastFailure"] != "gateway answered 503 Service Unavailable (GatewayUnavailable)" {
			t.Errorf("status while retrying: %s", during.raw)
		}
		st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		if done := api.status(txn, aliceToken); done.body["retrying"] != nil {
			t.Errorf("completed, still retrying: %s", done.raw)
		}
		if st.LastError != "" || st.Attempts != 1 {
			t.Errorf("completed after the outage: lastError %q, attempts %d", st.LastError, st.Attempts)
		}
	})

	t.Run("404 unknown transaction", func(t *testing.T) {
		t.Parallel()
		resp := api.decide(txnID("nobody"), aliceToken, map[string]any{"decision": "approve"})
		if resp.code != http.StatusNotFound {
			t.Fatalf("got %d %s", resp.code, resp.raw)
		}
	})

	t.Run("409 while submitting or after", func(t *testing.T) {
		t.Parallel()
		txn := txnID("done")
		if resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "3.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateCompleted })
		resp := api.decide(txn, aliceToken, map[string]any{"decision": "resolved"})
		if resp.code != http.StatusConflict || resp.str("state") != "Completed" {
			t.Fatalf("got %d %s", resp.code, resp.raw)
		}
	})

	t.Run("401", func(t *testing.T) {
		t.Parallel()
		txn := awaitingReview(t, "auth")
		// A webhook token is told apart, so the caller sees the mix-up;
		// any other refused token gets the plain message.
		const plain, webhook = "missing or invalid credentials", "an approver token is required: this is a webhook token"
		for name, c := range map[string]struct{ token, message string }{
			"no token":          {"", plain},
			"wrong token":       {"nope", plain},
			"webhook token":     {webhookToken, webhook},
			"old webhook token": {webhookTokenOld, webhook},
		} {
			for route, resp := range map[string]response{
				"decision": api.decide(txn, c.token, map[string]any{"decision": "approve"}),
				"status":   api.status(txn, c.token),
				"list":     api.list("", c.token),
			} {
				if resp.code != http.StatusUnauthorized || resp.str("error") != c.message || resp.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s with %s: %d %s", route, name, resp.code, resp.raw)
				}
			}
		}
		// And the other way round: an approver token does not start anything.
		resp := api.request(http.MethodPost, "/v1/dispositions", aliceToken, dispositionBody(txnID("forged"), "Refund_Processed", "1.00"))
		if resp.code != http.StatusUnauthorized {
			t.Errorf("approver token on the webhook: %d %s", resp.code, resp.raw)
		}
		// Basic with the token as password works here too.
		basic := api.send(http.MethodGet, "/v1/remediations/"+txn, nil, func(r *http.Request) { r.Header.Set("Authorization", basicAuth("alice", aliceToken)) })
		if basic.code != http.StatusOK {
			t.Errorf("basic auth: %d %s", basic.code, basic.raw)
		}
	})

	t.Run("400", func(t *testing.T) {
		t.Parallel()
		txn := awaitingReview(t, "badreq")
		cases := []struct {
			body  any
			field string
		}{
			{map[string]any{"decision": "maybe"}, "decision"},
			{map[string]any{}, "decision"},
			{map[string]any{"decision": 1}, "decision"},
			{map[string]any{"decision": "approve", "decisionId": "has space"}, "decisionId"},
			{map[string]any{"decision": "reject", "refundAmount": "5.00"}, "refundAmount"},
			{map[string]any{"decision": "approve", "refundAmount": true}, "refundAmount"},
			{map[string]any{"decision": "approve", "refundAmount": "5.001"}, "refundAmount"},
			{map[string]any{"decision": "approve", "refundAmount": "0"}, "refundAmount"},
			{map[string]any{"decision": "approve", "note": strings.Repeat("n", request.MaxNoteChars+1)}, "note"},
		}
		for _, c := range cases {
			resp := api.decide(txn, aliceToken, c.body)
			if resp.code != http.StatusBadRequest || len(resp.fields()) != 1 || resp.fields()[0] != c.field {
				t.Errorf("%v: got %d %s", c.body, resp.code, resp.raw)
			}
		}
		if resp := api.decide(txn, aliceToken, `{"decision":"approve","note":"card 4111 1111 1111 1111"}`); resp.code != http.StatusUnprocessableEntity {
			t.Errorf("card number in a note: %d %s", resp.code, resp.raw)
		}
		// Nothing above reached the workflow.
		st := api.waitStatus(txn, func(remediation.Status) bool { return true })
		if len(st.Decisions) != 0 || st.State != remediation.StateAwaitingReview {
			t.Errorf("status after refused requests: %+v", st)
		}
	})

	t.Run("no worker: visibility and the workflow result answer", func(t *testing.T) {
		t.Parallel()
		// A second starter on a queue nobody polls, with a short query timeout.
		lonely := newAPIServer(t, env.HostPort, "no-worker-queue", 5*time.Second)
		lonely.srv.queryTimeout = 300 * time.Millisecond

		txn := txnID("lonely")
		first := lonely.postDisposition(dispositionBody(txn, "Refund_Processed", "8.00"))
		if first.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", first.code, first.raw)
		}
		dup := lonely.postDisposition(dispositionBody(txn, "Refund_Processed", "8.00"))
		if dup.code != http.StatusOK || dup.str("state") != "Submitting" || dup.str("action") != "refund" {
			t.Errorf("duplicate without a worker: %d %s", dup.code, dup.raw)
		}
		st := lonely.status(txn, aliceToken)
		if st.code != http.StatusServiceUnavailable || st.str("state") != "Submitting" || st.header.Get("Retry-After") == "" {
			t.Errorf("status without a worker: %d %s", st.code, st.raw)
		}
		if resp := lonely.decide(txn, aliceToken, map[string]any{"decision": "approve"}); resp.code != http.StatusServiceUnavailable {
			t.Errorf("decision without a worker: %d %s", resp.code, resp.raw)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := env.Client.TerminateWorkflow(ctx, "remediation-"+txn, "", "test"); err != nil {
			t.Fatal(err)
		}
		closed := lonely.status(txn, aliceToken)
		if closed.code != http.StatusOK || closed.str("state") != "Submitting" || closed.header.Get("X-Refundflow-Status-Source") != "visibility" {
			t.Errorf("status of a terminated workflow: %d %s %v", closed.code, closed.raw, closed.header)
		}
		if resp := lonely.decide(txn, aliceToken, map[string]any{"decision": "approve"}); resp.code != http.StatusConflict {
			t.Errorf("decision on a terminated workflow: %d %s", resp.code, resp.raw)
		}
	})

	t.Run("closed workflow, worker gone: the result answers", func(t *testing.T) {
		t.Parallel()
		const queue = "short-lived-worker"
		_, w := startWorker(t, env.Client, queue)
		api2 := newAPIServer(t, env.HostPort, queue, 5*time.Second)
		api2.srv.queryTimeout = 300 * time.Millisecond
		txn := txnID("gone")
		if resp := api2.postDisposition(dispositionBody(txn, "Refund_Processed", "4.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start: %d %s", resp.code, resp.raw)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := env.Client.GetWorkflow(ctx, "remediation-"+txn, "").Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		w.Stop()
		resp := api2.status(txn, aliceToken)
		if resp.code != http.StatusOK || resp.str("state") != "Completed" || resp.str("gatewayReference") != "gw-"+txn ||
			resp.header.Get("X-Refundflow-Status-Source") != "result" {
			t.Fatalf("got %d %s %v", resp.code, resp.raw, resp.header)
		}
	})

}
