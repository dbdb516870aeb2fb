package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/remediation"
)

// scriptedWorld answers by transaction ID prefix: REJECTONCE- is refused on
// the first submission only, REJECT- always, DOWN- is always unavailable,
// HANG- goes to the hanging gateway, PENDING- is taken as pending (a
// submission under a renewed key settles at once). Reminders about a
// transaction whose ID holds SLOWREMIND are held until releaseReminders.
type scriptedWorld struct {
	mu           sync.Mutex
	rejectedOnce map[string]bool
	hanging      activities.Gateway
	reminding    chan string
	release      chan struct{}
	releaseOnce  sync.Once
	// inGenesys is what a review workitem's status decides, by workitem:
	// a decision made in Genesys, read back by ReadWorkitemDecision.
	inGenesys map[string]remediation.Decision
}

// ReadWorkitemDecision reads back a decision made in Genesys: the one the
// shape set on the transaction's workitem (wi-<transaction>).
func (w *scriptedWorld) ReadWorkitemDecision(_ context.Context, r activities.WorkitemDecisionRead) (activities.WorkitemDecision, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	read := activities.WorkitemDecision{WorkitemID: r.WorkitemID, TransactionID: strings.TrimPrefix(r.WorkitemID, "wi-")}
	if d, ok := w.inGenesys[r.WorkitemID]; ok {
		read.Decision = &d
	} else {
		read.Ignored = "status is not a decision"
	}
	return read, nil
}

func (w *scriptedWorld) decideInGenesys(workitemID string, d remediation.Decision) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inGenesys[workitemID] = d
}

// Check answers a poll as a gateway would: PENDING-POLL's refund is
// pending at the first poll and succeeded from the second; every other
// refund stays pending (its webhook decides).
func (w *scriptedWorld) Check(_ context.Context, c activities.SettlementCheck) (remediation.GatewayEvent, error) {
	status := "pending"
	if strings.HasPrefix(c.TransactionID, "PENDING-POLL") && c.Poll >= 2 {
		status = "succeeded"
	}
	return remediation.GatewayEvent{EventID: fmt.Sprintf("poll:%d", c.Poll), Gateway: "scripted",
		GatewayReference: c.GatewayReference, Status: status}, nil
}

// renewedAttempt returns the attempt suffix of a renewed Idempotency-Key
// (r2 of TX:refund:r2), or "".
func renewedAttempt(key string) string {
	last := key[strings.LastIndex(key, ":")+1:]
	if len(last) < 2 || last[0] != 'r' || strings.Trim(last[1:], "0123456789") != "" {
		return ""
	}
	return last
}

func (w *scriptedWorld) Submit(ctx context.Context, s activities.Submission) (activities.SubmissionResult, error) {
	if strings.HasPrefix(s.TransactionID, "HANG-") {
		return w.hanging.Submit(ctx, s)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case strings.HasPrefix(s.TransactionID, "DOWN-"):
		return activities.SubmissionResult{}, temporal.NewApplicationError("gateway answered 503", string(activities.ErrGatewayUnavailable))
	case strings.HasPrefix(s.TransactionID, "REJECT-"),
		strings.HasPrefix(s.TransactionID, "REJECTONCE-") && !w.rejectedOnce[s.TransactionID]:
		w.rejectedOnce[s.TransactionID] = true
		return activities.SubmissionResult{}, temporal.NewNonRetryableApplicationError("gateway answered 422: refused", string(activities.ErrGatewayRejected), nil)
	case strings.HasPrefix(s.TransactionID, "PENDING-"):
		if r := renewedAttempt(s.IdempotencyKey); r != "" {
			return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID + "-" + r, HTTPStatus: 200, GatewayStatus: "succeeded"}, nil
		}
		return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID, HTTPStatus: 200, GatewayStatus: "pending"}, nil
	}
	return activities.SubmissionResult{GatewayReference: "rf_" + s.TransactionID, HTTPStatus: 201}, nil
}

func (w *scriptedWorld) UpdateAttributes(context.Context, activities.InteractionUpdate) error {
	return nil
}

func (w *scriptedWorld) SetWrapup(context.Context, activities.FailedWrapup) error {
	return temporal.NewNonRetryableApplicationError("wrap-up refused: after-call work has ended", string(activities.ErrGenesysRejected), nil)
}

func (w *scriptedWorld) Escalate(_ context.Context, e activities.Escalation) (activities.EscalationResult, error) {
	return activities.EscalationResult{Channel: "workitem", WorkitemID: "wi-" + e.TransactionID, Created: true}, nil
}

// Remind holds a SLOWREMIND reminder as a Genesys that does not answer
// would, and says so on reminding; it does not heartbeat, as the real one
// does not, so a cancellation reaches it only through its timeout.
func (w *scriptedWorld) Remind(ctx context.Context, r activities.Reminder) error {
	if !strings.Contains(r.TransactionID, "SLOWREMIND") {
		return nil
	}
	select {
	case w.reminding <- r.TransactionID:
	default:
	}
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil
}

// CloseWorkitem refuses a workitem whose ID holds CLOSEFAIL, as Genesys
// refuses a status transition the worktype does not allow.
func (w *scriptedWorld) CloseWorkitem(_ context.Context, c activities.WorkitemClosure) error {
	if strings.Contains(c.WorkitemID, "CLOSEFAIL") {
		return temporal.NewNonRetryableApplicationError("Genesys answered 400: status transition not allowed", string(activities.ErrGenesysRejected), nil)
	}
	return nil
}

func (w *scriptedWorld) awaitReminder(ctx context.Context, txn string) error {
	select {
	case got := <-w.reminding:
		if got != txn {
			return fmt.Errorf("reminder about %s, want %s", got, txn)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no reminder about %s started", txn)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *scriptedWorld) releaseReminders() { w.releaseOnce.Do(func() { close(w.release) }) }

// hangingGateway is the real ERP client against a local gateway that holds
// the first refund past the client's timeout (as if it made the refund and
// the answer was lost), then answers 503 until the retry window ends.
type hangingGateway struct {
	srv     *httptest.Server
	gateway *activities.ERPGateway
	calls   atomic.Int32
}

func newHangingGateway() (*hangingGateway, error) {
	h := &hangingGateway{}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"record-histories","token_type":"bearer","expires_in":3600}`)
	})
	mux.HandleFunc("/refunds", func(w http.ResponseWriter, r *http.Request) {
		if h.calls.Add(1) == 1 {
			// Read the body first: the server notices the client hanging up
			// only once it has.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	h.srv = httptest.NewServer(mux)
	const timeout = 300 * time.Millisecond
	gw, err := activities.NewERPGateway(activities.GatewayConfig{
		RefundURL: h.srv.URL + "/refunds", ChargebackURL: h.srv.URL + "/chargebacks", TokenURL: h.srv.URL + "/token",
		ClientID: "record-histories", ClientSecret: "record-histories", Timeout: timeout,
	}, activities.NewHTTPClient(timeout), nil)
	if err != nil {
		h.srv.Close()
		return nil, err
	}
	h.gateway = gw
	return h, nil
}

func (h *hangingGateway) close() { h.srv.Close() }
