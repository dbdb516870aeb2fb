package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/workflows"
)

// TestWebhook drives POST /v1/dispositions against a real Temporal dev
// server with the real workflow on an in-process worker.
func TestWebhook(t *testing.T) {
	t.Parallel()
	const queue = "webhook-test"
	env, fakes := startTemporal(t, queue)
	api := newAPIServer(t, env.HostPort, queue, 5*time.Second)

	t.Run("group", func(t *testing.T) {
		t.Run("started", func(t *testing.T) {
			t.Parallel()
			txn := txnID("started")
			resp := api.postDisposition(dispositionBody(txn, "Refund_Processed", "49.99"))
			if resp.code != http.StatusAccepted || resp.str("status") != "started" ||
				resp.str("workflowId") != "remediation-"+txn || resp.str("runId") == "" {
				t.Fatalf("got %d %s", resp.code, resp.raw)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			desc, err := env.Client.DescribeWorkflow(ctx, "remediation-"+txn, "")
			if err != nil {
				t.Fatal(err)
			}
			if desc.WorkflowType.Name != remediation.WorkflowType || desc.TaskQueueName != queue {
				t.Errorf("type %s on %s", desc.WorkflowType.Name, desc.TaskQueueName)
			}
			for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
				workflows.TransactionIDKey:   txn,
				workflows.DispositionCodeKey: "Refund_Processed",
				workflows.ConversationIDKey:  "conv-" + txn,
			} {
				got, _ := desc.TypedSearchAttributes.GetKeyword(key)
				if got != want {
					t.Errorf("search attribute %s = %q, want %q", key.GetName(), got, want)
				}
			}
			summary, _ := desc.GetStaticSummary()
			details, _ := desc.GetStaticDetails()
			if !strings.Contains(summary, "49.99 USD") || !strings.Contains(summary, txn) {
				t.Errorf("summary %q", summary)
			}
			for _, text := range []string{summary, details} {
				if strings.Contains(text, "tok_visa_1234") || strings.Contains(text, "cus_secret_42") {
					t.Errorf("customer identifiers in UI metadata: %q", text)
				}
			}
			if !strings.Contains(details, "Refund_Processed") || !strings.Contains(details, "conv-"+txn) {
				t.Errorf("details %q", details)
			}
			var outcome remediation.Outcome
			if err := env.Client.GetWorkflow(ctx, "remediation-"+txn, "").Get(ctx, &outcome); err != nil {
				t.Fatal(err)
			}
			if outcome.State != remediation.StateCompleted || outcome.AmountMinor != 4999 || outcome.Currency != "USD" {
				t.Errorf("outcome %+v", outcome)
			}
		})

		t.Run("duplicate sequential", func(t *testing.T) {
			t.Parallel()
			txn := txnID("dup")
			first := api.postDisposition(dispositionBody(txn, "Escalation_Sent", "10.00"))
			if first.code != http.StatusAccepted {
				t.Fatalf("first: %d %s", first.code, first.raw)
			}
			// A retry may differ in anything but the transaction: the
			// existing remediation stands.
			second := api.postDisposition(dispositionBody(txn, "Refund_Processed", "99.00"))
			if second.code != http.StatusOK || second.str("status") != "duplicate" ||
				second.str("runId") != first.str("runId") || second.str("workflowId") != first.str("workflowId") ||
				second.str("state") != string(remediation.StateAwaitingReview) || second.str("action") != string(remediation.ActionReview) {
				t.Fatalf("second: %d %s (first %s)", second.code, second.raw, first.raw)
			}
		})

		t.Run("duplicate of a closed workflow", func(t *testing.T) {
			t.Parallel()
			txn := txnID("closed")
			first := api.postDisposition(dispositionBody(txn, "Refund_Processed", "5.00"))
			if first.code != http.StatusAccepted {
				t.Fatalf("first: %d %s", first.code, first.raw)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := env.Client.GetWorkflow(ctx, "remediation-"+txn, "").Get(ctx, nil); err != nil {
				t.Fatal(err)
			}
			again := api.postDisposition(dispositionBody(txn, "Refund_Processed", "5.00"))
			if again.code != http.StatusOK || again.str("status") != "duplicate" ||
				again.str("runId") != first.str("runId") || again.str("state") != string(remediation.StateCompleted) ||
				again.str("action") != string(remediation.ActionRefund) {
				t.Fatalf("again: %d %s", again.code, again.raw)
			}
		})

		t.Run("50 concurrent identical requests start one workflow", func(t *testing.T) {
			t.Parallel()
			txn := txnID("race")
			body := dispositionBody(txn, "Escalation_Sent", "12.34")
			const n = 50
			answers := make([]response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { answers[i] = api.postDisposition(body) })
			}
			wg.Wait()
			started, duplicates := 0, 0
			runIDs := map[string]bool{}
			for _, a := range answers {
				switch {
				case a.code == http.StatusAccepted && a.str("status") == "started":
					started++
				case a.code == http.StatusOK && a.str("status") == "duplicate":
					duplicates++
					if a.str("state") != string(remediation.StateAwaitingReview) {
						t.Errorf("duplicate state %q", a.str("state"))
					}
				default:
					t.Errorf("unexpected answer %d %s", a.code, a.raw)
				}
				runIDs[a.str("runId")] = true
			}
			if started != 1 || duplicates != n-1 || len(runIDs) != 1 {
				t.Fatalf("started %d, duplicates %d, run IDs %v", started, duplicates, runIDs)
			}
			if got := countWorkflows(t, env.Client.WorkflowService(), "WorkflowId = 'remediation-"+txn+"'"); got != 1 {
				t.Fatalf("%d workflows for the transaction, want 1", got)
			}
		})

		t.Run("ignored", func(t *testing.T) {
			t.Parallel()
			txn := txnID("ignored")
			resp := api.postDisposition(dispositionBody(txn, "Issue_Resolved", "5.00"))
			if resp.code != http.StatusOK || resp.str("status") != "ignored" || !strings.Contains(resp.str("reason"), "Issue_Resolved") {
				t.Fatalf("got %d %s", resp.code, resp.raw)
			}
			if st := api.status(txn, aliceToken); st.code != http.StatusNotFound {
				t.Fatalf("an ignored disposition left a remediation: %d %s", st.code, st.raw)
			}
		})

		t.Run("invalid amount starts and goes to review", func(t *testing.T) {
			t.Parallel()
			cases := map[string]any{
				"malformed": "49,99", "too many decimals": "49.999", "zero": "0.00", "negative": "-5",
				"missing": nil, "unknown currency": "10.00",
			}
			for name, amount := range cases {
				txn := txnID("amount")
				body := dispositionBody(txn, "Refund_Processed", "")
				body["refundAmount"] = amount
				if name == "unknown currency" {
					body["currency"] = "XYZ"
				}
				resp := api.postDisposition(body)
				if resp.code != http.StatusAccepted || resp.str("status") != "started" {
					t.Fatalf("%s: got %d %s", name, resp.code, resp.raw)
				}
				st := api.waitStatus(txn, func(s remediation.Status) bool {
					return s.State == remediation.StateAwaitingReview && s.WorkitemID != ""
				})
				if !strings.Contains(st.LastError, "refund amount cannot be used") || st.Attempts != 0 {
					t.Errorf("%s: status %+v", name, st)
				}
			}
			if fakes.escalations.Load() == 0 {
				t.Error("no escalation reached the fake finance ops")
			}
		})

		t.Run("number amount is kept exact", func(t *testing.T) {
			t.Parallel()
			txn := txnID("number")
			body := fmt.Sprintf(`{"transactionId":%q,"dispositionCode":"Escalation_Sent","refundAmount":12345678901234567.89,"currency":"USD"}`, txn)
			if resp := api.postDisposition(body); resp.code != http.StatusAccepted {
				t.Fatalf("got %d %s", resp.code, resp.raw)
			}
			st := api.waitStatus(txn, func(s remediation.Status) bool { return s.State == remediation.StateAwaitingReview })
			if st.AmountMinor != 1234567890123456789 {
				t.Fatalf("amountMinor %d", st.AmountMinor)
			}
		})

		t.Run("client errors", func(t *testing.T) { testClientErrors(t, api) })
		t.Run("cardholder data", func(t *testing.T) { testCardholderData(t, api) })
	})

	// Whatever the subtests sent, no credential or card number was logged.
	logs := api.logs.String()
	for _, secret := range []string{webhookToken, webhookTokenOld, aliceToken, "4111111111111111", "4111 1111", "5555-5555", "378282246310005", "cus_secret_42", "tok_visa_1234"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log output contains %q", secret)
		}
	}
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"path":"/v1/dispositions"`) {
		t.Errorf("no access log lines in:\n%s", logs)
	}
}

// countWorkflows counts executions matching a visibility query, waiting
// for visibility to catch up with at least one.
func countWorkflows(t *testing.T, svc workflowservice.WorkflowServiceClient, query string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := svc.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: remediation.DefaultNamespace, Query: query})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetCount() > 0 || time.Now().After(deadline) {
			return resp.GetCount()
		}
		time.Sleep(100 * time.Millisecond)
	}
}
