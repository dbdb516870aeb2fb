package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/internal/remediation"
)

// listAnswer is GET /v1/remediations's body.
type listAnswer struct {
	Remediations []struct {
		TransactionID   string     `json:"transactionId"`
		WorkflowID      string     `json:"workflowId"`
		RunID           string     `json:"runId"`
		State           string     `json:"state"`
		Action          string     `json:"action"`
		DispositionCode string     `json:"dispositionCode"`
		StartTime       time.Time  `json:"startTime"`
		CloseTime       *time.Time `json:"closeTime"`
	} `json:"remediations"`
	NextPageToken *string `json:"nextPageToken"`
}

func (l listAnswer) transactions() []string {
	var out []string
	for _, r := range l.Remediations {
		out = append(out, r.TransactionID)
	}
	return out
}

func decodeList(t *testing.T, resp response) listAnswer {
	t.Helper()
	if resp.code != http.StatusOK {
		t.Fatalf("list: %d %s", resp.code, resp.raw)
	}
	var l listAnswer
	if err := json.Unmarshal([]byte(resp.raw), &l); err != nil {
		t.Fatal(err)
	}
	if l.Remediations == nil {
		t.Fatalf("remediations is not a list: %s", resp.raw)
	}
	return l
}

// TestListRemediations drives GET /v1/remediations against a real dev
// server: the review queue, the other states, paging, and what it refuses.
// Visibility lags the workflows, so each expectation is polled for.
func TestListRemediations(t *testing.T) {
	t.Parallel()
	const queue, otherQueue = "list-test", "list-other-queue"
	env, _ := startTemporal(t, queue)
	startWorker(t, env.Client, otherQueue)
	api := newAPIServer(t, env.HostPort, queue, 5*time.Second)
	other := newAPIServer(t, env.HostPort, otherQueue, 5*time.Second)

	start := func(t *testing.T, a *apiServer, prefix, code string) string {
		t.Helper()
		txn := txnID(prefix)
		if resp := a.postDisposition(dispositionBody(txn, code, "20.00")); resp.code != http.StatusAccepted {
			t.Fatalf("start %s: %d %s", txn, resp.code, resp.raw)
		}
		return txn
	}
	// Three in review, started one after the other, so newest first is
	// the reverse; one refund that completes; one in review on another
	// task queue, which is not this starter's.
	var review []string
	for range 3 {
		review = append(review, start(t, api, "list-review", "Escalation_Sent"))
		time.Sleep(20 * time.Millisecond)
	}
	refund := start(t, api, "list-refund", "Refund_Processed")
	elsewhere := start(t, other, "list-elsewhere", "Escalation_Sent")

	// waitList polls the list until it holds exactly want, in that order.
	waitList := func(t *testing.T, query string, want []string) listAnswer {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			l := decodeList(t, api.list(query, aliceToken))
			if slices.Equal(l.transactions(), want) {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatalf("list %q: %v, want %v", query, l.transactions(), want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	newestFirst := slices.Clone(review)
	slices.Reverse(newestFirst)

	t.Run("the review queue, newest first", func(t *testing.T) {
		l := waitList(t, "state=AwaitingReview", newestFirst)
		if l.NextPageToken != nil {
			t.Errorf("nextPageToken %q on the only page", *l.NextPageToken)
		}
		for _, r := range l.Remediations {
			if r.WorkflowID != "remediation-"+r.TransactionID || r.RunID == "" || r.State != "AwaitingReview" ||
				r.Action != "review" || r.DispositionCode != "Escalation_Sent" || r.CloseTime != nil ||
				time.Since(r.StartTime) > time.Minute || time.Since(r.StartTime) < 0 {
				t.Errorf("item %+v", r)
			}
		}
		if slices.Contains(l.transactions(), elsewhere) {
			t.Errorf("another task queue's remediation is listed: %v", l.transactions())
		}
	})

	t.Run("closed ones carry their close time", func(t *testing.T) {
		// The workflow sets Completed before its last write-back, so it
		// may be listed Completed a moment before it closes.
		deadline := time.Now().Add(15 * time.Second)
		r := waitList(t, "state=Completed", []string{refund}).Remediations[0]
		for r.CloseTime == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			r = waitList(t, "state=Completed", []string{refund}).Remediations[0]
		}
		if r.Action != "refund" || r.State != "Completed" || r.CloseTime == nil || r.CloseTime.Before(r.StartTime) {
			t.Errorf("item %+v", r)
		}
		waitList(t, "state=Rejected", []string{})
	})

	t.Run("every state: this task queue's, running ones first", func(t *testing.T) {
		waitList(t, "", append(slices.Clone(newestFirst), refund))
	})

	t.Run("pages", func(t *testing.T) {
		first := decodeList(t, api.list("state=AwaitingReview&limit=2", aliceToken))
		if !slices.Equal(first.transactions(), newestFirst[:2]) || first.NextPageToken == nil || *first.NextPageToken == "" {
			t.Fatalf("first page: %v, token %v", first.transactions(), first.NextPageToken)
		}
		got := first.transactions()
		token := *first.NextPageToken
		for pages := 1; token != ""; pages++ {
			if pages > 3 {
				t.Fatalf("still a nextPageToken after %d pages", pages)
			}
			next := decodeList(t, api.list("state=AwaitingReview&limit=2&pageToken="+url.QueryEscape(token), aliceToken))
			got = append(got, next.transactions()...)
			token = ""
			if next.NextPageToken != nil {
				token = *next.NextPageToken
			}
		}
		if !slices.Equal(got, newestFirst) {
			t.Errorf("pages hold %v, want %v", got, newestFirst)
		}
		// A token continues only the list it came from, undamaged.
		issued := *first.NextPageToken
		damaged := "A" + issued[1:]
		if issued[0] == 'A' {
			damaged = "B" + issued[1:]
		}
		for _, query := range []string{
			"state=Submitting&pageToken=" + url.QueryEscape(issued),
			"pageToken=" + url.QueryEscape(issued),
			"state=AwaitingReview&pageToken=" + url.QueryEscape(damaged),
		} {
			if resp := api.list(query, aliceToken); resp.code != http.StatusBadRequest || !slices.Equal(resp.fields(), []string{"pageToken"}) {
				t.Errorf("%s: %d %s", query, resp.code, resp.raw)
			}
		}
		if l := decodeList(t, api.list("limit=200", aliceToken)); len(l.Remediations) != 4 {
			t.Errorf("limit=200: %v", l.transactions())
		}
	})

	t.Run("400", func(t *testing.T) {
		for query, field := range map[string]string{
			"state=Pending":              "state",
			"state=awaitingreview":       "state",
			"state=AwaitingReview'+OR+1": "state",
			"limit=0":                    "limit",
			"limit=201":                  "limit",
			"limit=ten":                  "limit",
			"limit=%2B5":                 "limit",
			"pageToken=not*base64":       "pageToken",
			"pageToken=Z2FyYmFnZQ":       "pageToken", // "garbage": base64, but no token of ours
			"pageToken=":                 "",          // empty: the first page
		} {
			resp := api.list(query, aliceToken)
			if field == "" {
				if resp.code != http.StatusOK {
					t.Errorf("%s: %d %s", query, resp.code, resp.raw)
				}
				continue
			}
			if resp.code != http.StatusBadRequest || !slices.Equal(resp.fields(), []string{field}) || resp.str("error") == "" {
				t.Errorf("%s: %d %s", query, resp.code, resp.raw)
			}
		}
	})

	t.Run("a review that continued as new is listed once", func(t *testing.T) {
		// A stand-in for the workflow on a queue of its own: its first run
		// continues as new at once, the next waits, both in AwaitingReview.
		const canQueue = "list-continued-queue"
		w := worker.New(env.Client, canQueue, worker.Options{})
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context, d remediation.Disposition, next *int) error {
			if next == nil {
				one := 1
				return workflow.NewContinueAsNewError(ctx, remediation.WorkflowType, d, &one)
			}
			workflow.GetSignalChannel(ctx, "never").Receive(ctx, nil)
			return nil
		}, workflow.RegisterOptions{Name: remediation.WorkflowType})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		continued := newAPIServer(t, env.HostPort, canQueue, 5*time.Second)
		txn := start(t, continued, "list-continued", "Escalation_Sent")
		// Wait until visibility holds both runs.
		deadline := time.Now().Add(15 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, err := env.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
				Query: "WorkflowId = '" + remediation.WorkflowID(txn) + "'"})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if n.GetCount() == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("visibility holds %d runs of %s, want 2", n.GetCount(), txn)
			}
			time.Sleep(100 * time.Millisecond)
		}
		l := decodeList(t, continued.list("state=AwaitingReview", aliceToken))
		if len(l.Remediations) != 1 || l.Remediations[0].TransactionID != txn || l.Remediations[0].CloseTime != nil {
			t.Errorf("review queue = %+v, want the running run of %s once", l.Remediations, txn)
		}
	})

	t.Run("terminated in review: listed in its state, with a close time", func(t *testing.T) {
		// A second starter whose queue nobody polls: its remediations stay
		// in the state they were started with. The queue's name needs
		// quoting in the visibility query.
		lonely := newAPIServer(t, env.HostPort, `list-nobody's-queue`, 5*time.Second)
		txn := start(t, lonely, "list-lonely", "Escalation_Sent")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := env.Client.TerminateWorkflow(ctx, remediation.WorkflowID(txn), "", "test"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			l := decodeList(t, lonely.list("state=AwaitingReview", aliceToken))
			if len(l.Remediations) == 1 && l.Remediations[0].CloseTime != nil {
				if r := l.Remediations[0]; r.TransactionID != txn || r.Action != "review" {
					t.Errorf("item %+v", r)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("terminated remediation not listed as closed: %+v", l)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
