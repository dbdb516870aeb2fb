package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/reconcile"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// TestReconcileFindsExactlyThePlantedMismatches runs real refunds through
// the whole stack, reconciles them clean, then plants each kind of
// mismatch in the sandbox's ledger and expects exactly those: a refund for
// a transaction in review, one for a transaction no remediation knows, a
// Completed refund the gateway lost, and one whose amount it changed.
func TestReconcileFindsExactlyThePlantedMismatches(t *testing.T) {
	w := testenv.StartWorld(t, stack.Options{})
	from := time.Now().UTC().Add(-time.Minute)

	txn := func(name string) string { return stack.Unique("RC-" + name + "-") }
	lost, changed, fine := txn("lost"), txn("changed"), txn("fine")
	review, stranger := txn("review"), txn("stranger")
	for _, id := range []string{lost, changed, fine} {
		if r := w.PostDisposition(stack.Disposition(id, "Refund_Processed", "12.34")); r.Code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", id, r.Code, r.Raw)
		}
	}
	if r := w.PostDisposition(stack.Disposition(review, "Escalation_Sent", "50.00")); r.Code != http.StatusAccepted {
		t.Fatalf("%s: %d %s", review, r.Code, r.Raw)
	}
	for _, id := range []string{lost, changed, fine} {
		w.WaitState(id, remediation.StateCompleted)
	}
	w.WaitState(review, remediation.StateAwaitingReview)

	cfgEnv := func(t *testing.T) {
		t.Setenv("REFUNDFLOW_RECONCILE_STARTER_URL", w.StarterURL())
		t.Setenv("REFUNDFLOW_RECONCILE_APPROVER_TOKEN", stack.ApproverToken)
		t.Setenv("REFUNDFLOW_RECONCILE_GATEWAY", "sandbox")
		t.Setenv("REFUNDFLOW_RECONCILE_SANDBOX_URL", w.SandboxURL)
	}
	reconcileNow := func(t *testing.T) (int, reconcile.Result, string) {
		t.Helper()
		cfgEnv(t)
		var stdout, stderr bytes.Buffer
		to := time.Now().UTC().Add(time.Minute)
		code := run(context.Background(), []string{"-json", "-from", from.Format(time.RFC3339Nano), "-to", to.Format(time.RFC3339Nano)}, &stdout, &stderr)
		var res reconcile.Result
		if code != exitFailed {
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("exit %d, output %q: %v", code, stdout.String(), err)
			}
		}
		return code, res, stderr.String()
	}

	// Visibility lags the workflows: wait until the export lists all four
	// with their money read from the runs themselves, the Completed one
	// closed (its last Genesys write-back may wait its turn on the paced
	// queue after the state says Completed).
	deadline := time.Now().Add(30 * time.Second)
	for {
		records := exportRecords(t, w, from)
		if len(records) == 4 && !slices.ContainsFunc(records, func(r reconcile.Record) bool {
			return r.Source == reconcile.SourceVisibility || (r.TransactionID == lost && r.CloseTime == nil)
		}) {
			checkExport(t, records, lost, review)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("export holds %+v, want 4 remediations with their status", records)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("paged through visibility", func(t *testing.T) {
		// A page of one run: every page is read after the last was
		// emitted, and together they hold the same records.
		ex := &reconcile.Exporter{Client: w.Stack.Client, Namespace: remediation.DefaultNamespace, TaskQueue: w.Stack.TaskQueue,
			Dispositions: map[string]remediation.Action{"Refund_Processed": remediation.ActionRefund, "Escalation_Sent": remediation.ActionReview},
			PageSize:     1, Concurrency: 1}
		win := reconcile.Window{From: from, To: time.Now().UTC().Add(time.Minute)}
		first, err := ex.FirstPage(context.Background(), win)
		if err != nil || len(first.Executions) != 1 || len(first.Next) == 0 {
			t.Fatalf("first page: %v, %d runs, next %q", err, len(first.Executions), first.Next)
		}
		var got []string
		if err := ex.Export(context.Background(), win, first, reconcile.ShapeRemediations, func(r reconcile.Record) error {
			got = append(got, r.TransactionID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range exportRecords(t, w, from) {
			want = append(want, r.TransactionID)
		}
		if !slices.Equal(got, want) || len(got) != 4 {
			t.Errorf("paged one by one: %v, in one page: %v", got, want)
		}
	})

	t.Run("clean", func(t *testing.T) {
		code, res, stderr := reconcileNow(t)
		if code != exitAgree || len(res.Mismatches) != 0 || res.Remediations != 4 || res.Completed != 3 || res.Moved != 3 {
			t.Fatalf("exit %d, result %+v, stderr %s", code, res, stderr)
		}
	})

	plant := func(t *testing.T, e sandbox.PlantedEntry) {
		t.Helper()
		r := w.Call(http.MethodPost, w.SandboxURL+"/sandbox/ledger/entries", "", e)
		if r.Code != http.StatusOK && r.Code != http.StatusNoContent {
			t.Fatalf("plant %+v: %d %s", e, r.Code, r.Raw)
		}
	}
	plant(t, sandbox.PlantedEntry{IdempotencyKey: lost + ":refund", Remove: true})
	plant(t, sandbox.PlantedEntry{IdempotencyKey: changed + ":refund", TransactionID: changed, AmountMinor: 1243, Currency: "USD"})
	plant(t, sandbox.PlantedEntry{IdempotencyKey: review + ":refund", TransactionID: review, AmountMinor: 5000, Currency: "USD"})
	plant(t, sandbox.PlantedEntry{IdempotencyKey: stranger + ":refund", TransactionID: stranger, AmountMinor: 700, Currency: "USD"})
	// A refund the gateway failed moved no money: no mismatch for it.
	failed := txn("failed")
	plant(t, sandbox.PlantedEntry{IdempotencyKey: failed + ":refund", TransactionID: failed, AmountMinor: 900, Currency: "USD", Status: "failed"})

	t.Run("planted", func(t *testing.T) {
		code, res, stderr := reconcileNow(t)
		if code != exitMismatches {
			t.Fatalf("exit %d, want %d; result %+v, stderr %s", code, exitMismatches, res, stderr)
		}
		got := map[string]string{}
		for _, m := range res.Mismatches {
			got[m.TransactionID] = m.Kind
		}
		want := map[string]string{
			lost:     reconcile.CompletedWithoutMoney,
			changed:  reconcile.AmountDiffers,
			review:   reconcile.MoneyWithoutCompleted,
			stranger: reconcile.MoneyWithoutCompleted,
		}
		if len(got) != len(want) || len(res.Mismatches) != len(want) {
			t.Fatalf("mismatches %+v, want %v", res.Mismatches, want)
		}
		for id, kind := range want {
			if got[id] != kind {
				t.Errorf("%s: %q, want %q (all: %+v)", id, got[id], kind, res.Mismatches)
			}
		}
		for _, m := range res.Mismatches {
			if m.TransactionID == changed && (m.Ours != "1234 USD" || m.Theirs != "1243 USD") {
				t.Errorf("amount mismatch %+v: want ours 1234 USD, theirs 1243 USD", m)
			}
		}
	})

	t.Run("text output", func(t *testing.T) {
		cfgEnv(t)
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"-from", from.Format(time.RFC3339Nano), "-to", time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano)}, &stdout, &stderr)
		if code != exitMismatches || !strings.Contains(stdout.String(), "4 mismatches") || !strings.Contains(stdout.String(), reconcile.AmountDiffers) {
			t.Errorf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
		}
	})

	t.Run("the API's shapes and refusals", func(t *testing.T) {
		q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano)}}
		get := func(query url.Values, token, accept string) (int, string, string) {
			req, _ := http.NewRequest(http.MethodGet, w.StarterURL()+"/v1/reconciliation?"+query.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode, resp.Header.Get("Content-Type"), b.String()
		}
		code, ctype, body := get(q, stack.ApproverToken, "text/csv")
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if code != http.StatusOK || !strings.HasPrefix(ctype, "text/csv") || err != nil || len(rows) != 5 ||
			!slices.Equal(rows[0], reconcile.RemediationsCSVHeader) {
			t.Errorf("CSV: %d %s %v\n%s", code, ctype, err, body)
		}
		logQuery := url.Values{"from": q["from"], "to": q["to"], "format": {"financial_transaction_log"}}
		code, ctype, body = get(logQuery, stack.ApproverToken, "")
		rows, err = csv.NewReader(strings.NewReader(body)).ReadAll()
		if code != http.StatusOK || !strings.HasPrefix(ctype, "text/csv") || err != nil || len(rows) != 5 ||
			!slices.Equal(rows[0], reconcile.FinancialTransactionLogHeader) {
			t.Fatalf("financial transaction log: %d %s %v\n%s", code, ctype, err, body)
		}
		for _, row := range rows[1:] {
			if row[2] != "tok_visa_1234" || (row[1] != "Refund_Processed" && row[1] != "Escalation_Sent") {
				t.Errorf("log row %v", row)
			}
			if _, err := time.Parse(time.RFC3339Nano, row[3]); err != nil {
				t.Errorf("log row %v: timestamp: %v", row, err)
			}
		}
		code, ctype, body = get(logQuery, stack.ApproverToken, "application/json")
		var logJSON struct {
			Entries  []reconcile.FinancialTransactionLogEntry `json:"financialTransactionLog"`
			Complete bool                                     `json:"complete"`
		}
		if err := json.Unmarshal([]byte(body), &logJSON); code != http.StatusOK || ctype != "application/json" || err != nil ||
			len(logJSON.Entries) != 4 || !logJSON.Complete {
			t.Errorf("financial transaction log as JSON: %d %s %v\n%s", code, ctype, err, body)
		}
		if code, _, body := get(q, stack.WebhookToken, ""); code != http.StatusUnauthorized {
			t.Errorf("webhook token: %d %s", code, body)
		}
		for query, field := range map[string]string{
			"from=yesterday&to=2026-01-01T00:00:00Z":                       "from",
			"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z":            "to",
			"from=2026-01-01T00:00:00Z":                                    "to",
			"from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&format=xml": "format",
		} {
			v, _ := url.ParseQuery(query)
			code, _, body := get(v, stack.ApproverToken, "")
			if code != http.StatusBadRequest || !strings.Contains(body, `"`+field+`"`) {
				t.Errorf("%s: %d %s", query, code, body)
			}
		}
	})
}

// exportRecords reads the JSON export from from to a minute ahead.
func exportRecords(t *testing.T, w *testenv.World, from time.Time) []reconcile.Record {
	t.Helper()
	s := &reconcile.Starter{BaseURL: w.StarterURL(), Token: stack.ApproverToken}
	records, err := s.Export(context.Background(), reconcile.Window{From: from, To: time.Now().UTC().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// checkExport: a Completed refund carries its money and gateway reference
// from its result; a review its state and amount from its query.
func checkExport(t *testing.T, records []reconcile.Record, completed, review string) {
	t.Helper()
	for _, r := range records {
		switch r.TransactionID {
		case completed:
			if r.State != "Completed" || r.Action != "refund" || r.AmountMinor != 1234 || r.Amount != "12.34" || r.Currency != "USD" ||
				r.GatewayReference == "" || r.Attempts != 1 || r.Source != reconcile.SourceResult || r.CloseTime == nil ||
				r.WorkflowID != remediation.WorkflowID(completed) || r.RunID == "" {
				t.Errorf("completed record %+v", r)
			}
		case review:
			if r.State != "AwaitingReview" || r.Action != "review" || r.AmountMinor != 5000 || r.Source != reconcile.SourceQuery || r.CloseTime != nil || r.Decisions == nil {
				t.Errorf("review record %+v", r)
			}
		}
	}
}
