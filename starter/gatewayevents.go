package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stripesig"
)

// The gateways' webhooks: each verified its own way, turned into the
// gateway-event signal, and answered so the gateway stops retrying. The
// body of a refused event is never logged: it may be a forgery carrying
// anything.

// maxGatewayEventBytes bounds a gateway's webhook body (Stripe's events are
// a few KiB).
const maxGatewayEventBytes = 256 << 10

// erpEvent is the ERP's webhook body (contract section 4).
type erpEvent struct {
	EventID       string `json:"eventId"`
	TransactionID string `json:"transactionId"`
	RefundID      string `json:"refundId"`
	Status        string `json:"status"`
	Reason        string `json:"reason"`
	OccurredAt    string `json:"occurredAt"`
}

// handleERPEvent is POST /v1/gateway-events/erp.
func (s *server) handleERPEvent(w http.ResponseWriter, r *http.Request) {
	tok, ok := presentedToken(r)
	if !ok || len(s.gatewayEvents) == 0 || !s.gatewayEvents.contains(tok) {
		// The contract answers every unverified gateway event 400, the
		// Bearer being the ERP's signature: nothing done, nothing logged.
		writeBadRequest(w, "missing or invalid gateway event token", []string{"Authorization"})
		return
	}
	body, ok := readGatewayEvent(w, r)
	if !ok {
		return
	}
	var ev erpEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		writeBadRequest(w, "the body is not an ERP refund event", nil)
		return
	}
	var bad []string
	if strings.TrimSpace(ev.EventID) == "" {
		bad = append(bad, "eventId")
	}
	if !remediation.ValidTransactionID(ev.TransactionID) {
		bad = append(bad, "transactionId")
	}
	switch remediation.SettlementOf(ev.Status) {
	case remediation.SettlementSucceeded, remediation.SettlementFailed, remediation.SettlementReversed, remediation.SettlementPending:
	default:
		bad = append(bad, "status")
	}
	if len(bad) > 0 {
		writeBadRequest(w, "invalid ERP refund event: "+strings.Join(bad, ", "), bad)
		return
	}
	s.deliverGatewayEvent(w, r, ev.TransactionID, remediation.GatewayEvent{
		EventID: ev.EventID, Gateway: "erp", GatewayReference: ev.RefundID,
		Status: strings.ToLower(ev.Status), Reason: ev.Reason, OccurredAt: ev.OccurredAt,
	})
}

// stripeEvent is the part of a Stripe event this reads.
type stripeEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object struct {
			ID            string            `json:"id"`
			Object        string            `json:"object"`
			Status        string            `json:"status"`
			FailureReason string            `json:"failure_reason"`
			Metadata      map[string]string `json:"metadata"`
		} `json:"object"`
	} `json:"data"`
}

// stripeRefundEvents are the event types that carry a refund.
var stripeRefundEvents = map[string]bool{
	"refund.created": true, "refund.updated": true, "refund.failed": true, "charge.refund.updated": true,
}

// handleStripeEvent is POST /v1/gateway-events/stripe.
func (s *server) handleStripeEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := readGatewayEvent(w, r)
	if !ok {
		return
	}
	if !stripesig.Verify(r.Header.Get("Stripe-Signature"), body, s.stripeSecrets, s.now()) {
		writeBadRequest(w, "Stripe-Signature does not verify", []string{"Stripe-Signature"})
		return
	}
	var ev stripeEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		writeBadRequest(w, "the body is not a Stripe event", nil)
		return
	}
	if !stripeRefundEvents[ev.Type] || ev.Data.Object.Object != "refund" {
		// Signed, but not about a refund: nothing to do, and Stripe must not retry it.
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	txn := ev.Data.Object.Metadata["transaction_id"]
	if !remediation.ValidTransactionID(txn) {
		s.logger.WarnContext(r.Context(), "Stripe refund event without a usable metadata[transaction_id]; ignored",
			"eventId", ev.ID, "refund", ev.Data.Object.ID)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	gev := remediation.GatewayEvent{
		EventID: ev.ID, Gateway: "stripe", GatewayReference: ev.Data.Object.ID,
		Status: ev.Data.Object.Status, Reason: ev.Data.Object.FailureReason,
	}
	if ev.Created > 0 {
		gev.OccurredAt = time.Unix(ev.Created, 0).UTC().Format(time.RFC3339)
	}
	s.deliverGatewayEvent(w, r, txn, gev)
}

// readGatewayEvent reads a webhook body up to its limit; on failure it has
// answered (413, 400) and returns false.
func readGatewayEvent(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxGatewayEventBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body too large")
			return nil, false
		}
		writeBadRequest(w, "could not read the request body", nil)
		return nil, false
	}
	return body, true
}

// deliverGatewayEvent signals the transaction's workflow: 200 once handed
// over (a repeat is the workflow's to ignore), 200 with a warning for a
// transaction no remediation knows (the gateway must not retry it for
// days), 503 when Temporal cannot be reached (it retries).
func (s *server) deliverGatewayEvent(w http.ResponseWriter, r *http.Request, txn string, ev remediation.GatewayEvent) {
	outcome, err := s.handOverGatewayEvent(r, txn, ev)
	if err != nil {
		s.temporalFailed(w, r, "signal gateway event", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": outcome})
}

// handOverGatewayEvent signals the transaction's workflow, or reopens a
// remediation that ended Completed, and says what became of the event:
// delivered, reopened, or "no open remediation" (logged as a warning). An
// error is Temporal's: the gateway must deliver again.
func (s *server) handOverGatewayEvent(r *http.Request, txn string, ev remediation.GatewayEvent) (string, error) {
	ctx, cancel := context.WithTimeout(r.Context(), s.startTimeout)
	defer cancel()
	err := s.temporal.SignalWorkflow(ctx, remediation.WorkflowID(txn), "", remediation.GatewayEventSignal, ev)
	if isNotFound(err) {
		// No run is open: a failure or reversal after Completed reopens it.
		err = s.reopenCompleted(ctx, txn, ev)
		if isAlreadyStarted(err) {
			// Another event reopened it a moment ago: this one goes to that run.
			err = s.temporal.SignalWorkflow(ctx, remediation.WorkflowID(txn), "", remediation.GatewayEventSignal, ev)
		} else if err == nil {
			s.logger.WarnContext(r.Context(), "the gateway reports a failure after the remediation ended Completed: back in front of finance",
				"gateway", ev.Gateway, "eventId", ev.EventID, "transactionId", txn, "gatewayStatus", ev.Status)
			return "reopened", nil
		}
	}
	switch {
	case isNotFound(err) || errors.Is(err, errNothingToReopen):
		s.logger.WarnContext(r.Context(), "gateway event for a transaction with no open remediation; nothing to do",
			"gateway", ev.Gateway, "eventId", ev.EventID, "transactionId", txn, "gatewayStatus", ev.Status)
		return "no open remediation", nil
	case err != nil:
		return "", err
	}
	s.logger.InfoContext(r.Context(), "gateway event delivered", "gateway", ev.Gateway, "eventId", ev.EventID,
		"transactionId", txn, "gatewayStatus", ev.Status)
	return "delivered", nil
}
