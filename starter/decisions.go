package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/request"
)

type sentResponse struct {
	Status     string `json:"status"`
	DecisionID string `json:"decisionId"`
}

// handleDecision is POST /v1/remediations/{transactionId}/decision: a
// finance operator's approve, reject or resolved, sent to the workflow as
// the finance-decision signal with the approver named by the token.
func (s *server) handleDecision(w http.ResponseWriter, r *http.Request) {
	approverName, ok := s.authorizeApprover(w, r)
	if !ok {
		return
	}
	txn, ok := pathTransactionID(w, r)
	if !ok {
		return
	}
	body, ok := readScreenedBody(w, r)
	if !ok {
		return
	}
	req, bad := request.DecodeDecision(body)
	if bad != nil {
		writeBadRequest(w, bad.Error(), bad.Fields)
		return
	}

	// Only a remediation awaiting review can take a decision. The workflow
	// enforces this too (a late signal is recorded, not applied); checking
	// first lets the operator hear 409 instead of a silent no-op.
	res, err := s.lookupStatus(r.Context(), txn)
	if err != nil {
		s.statusFailed(w, r, res, err)
		return
	}
	recorded, sent := recordedDecision(res.status, req, approverName)
	if res.closed || res.status.State != remediation.StateAwaitingReview {
		// The contract's 409, even for the same request again after it
		// ended the review; the body then shows it was recorded, and how,
		// so a client retrying a lost answer knows its decision counted.
		body := conflictBody{Error: "the remediation is not awaiting review", State: string(res.status.State)}
		if sent {
			body.Recorded = &recorded
		}
		writeJSON(w, http.StatusConflict, body)
		return
	}
	if sent {
		// The same request again while the review still waits (its answer
		// lost on the way back, say): the workflow already holds it, so it
		// gets the first answer and is not sent again.
		s.logger.InfoContext(r.Context(), "decision already received; not sent again", "transactionId", txn,
			"decisionId", req.DecisionID, "approver", approverName)
		writeJSON(w, http.StatusAccepted, sentResponse{Status: "sent", DecisionID: req.DecisionID})
		return
	}
	if req.RefundAmount != "" {
		if _, err := money.ParseRefund(string(req.RefundAmount), res.status.Currency); err != nil {
			writeBadRequest(w, "refundAmount: "+err.Error(), []string{"refundAmount"})
			return
		}
	}

	decision := remediation.Decision{
		DecisionID:   req.DecisionID,
		Decision:     req.Decision,
		Approver:     approverName,
		Note:         req.Note,
		RefundAmount: req.RefundAmount,
	}
	if decision.DecisionID == "" {
		decision.DecisionID = newDecisionID()
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.startTimeout)
	defer cancel()
	err = s.temporal.SignalWorkflow(ctx, remediation.WorkflowID(txn), "", remediation.DecisionSignal, decision)
	switch {
	case isNotFound(err):
		// It ended between the status check and the signal.
		writeJSON(w, http.StatusConflict, errorBody{Error: "the remediation has ended"})
		return
	case err != nil:
		s.temporalFailed(w, r, "signal decision", err)
		return
	}
	s.logger.InfoContext(r.Context(), "decision sent", "transactionId", txn, "decisionId", decision.DecisionID,
		"decision", decision.Decision, "approver", approverName)
	writeJSON(w, http.StatusAccepted, sentResponse{Status: "sent", DecisionID: decision.DecisionID})
}

// conflictBody is the 409: why the remediation cannot take the decision,
// and the record of this very request when the workflow already holds it.
type conflictBody struct {
	Error    string                      `json:"error"`
	State    string                      `json:"state,omitempty"`
	Recorded *remediation.DecisionRecord `json:"recorded,omitempty"`
}

// recordedDecision finds this request among the decisions the workflow
// recorded: the caller's decisionId with the same approver, decision and
// amount. The applied record wins (two copies sent close together are
// recorded applied, then duplicate: the client must hear it counted);
// otherwise the newest (a refused try may have been sent again). A
// decisionId reused for something else is no retry and is not found.
func recordedDecision(st remediation.Status, req request.Decision, approver string) (remediation.DecisionRecord, bool) {
	if req.DecisionID == "" {
		return remediation.DecisionRecord{}, false
	}
	var found *remediation.DecisionRecord
	for i := len(st.Decisions) - 1; i >= 0; i-- {
		rec := st.Decisions[i]
		if rec.DecisionID != req.DecisionID || rec.Approver != approver ||
			rec.Decision.Decision != req.Decision || rec.RefundAmount != req.RefundAmount {
			continue
		}
		if rec.Outcome == remediation.OutcomeApplied {
			return rec, true
		}
		if found == nil {
			found = &st.Decisions[i]
		}
	}
	if found == nil {
		return remediation.DecisionRecord{}, false
	}
	return *found, true
}

// newDecisionID is a random (version 4) UUID, so a decision without an ID
// of its own can still be told apart from every other.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
