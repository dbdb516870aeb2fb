package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/refundflow/refundflow/internal/request"
)

type startedResponse struct {
	Status     string `json:"status"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
}

type duplicateResponse struct {
	Status     string `json:"status"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	State      string `json:"state"`
	// Action is the existing remediation's (refund, chargeback or review),
	// which may differ from the duplicate's code; absent when not known.
	Action string `json:"action,omitempty"`
}

type ignoredResponse struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// handleDisposition is POST /v1/dispositions, the Genesys Data Action's
// target. Checks run in the contract's order: credentials (401), content
// type (415), size (413), cardholder data (422), then the fields (400);
// only then does anything look at what the disposition means.
func (s *server) handleDisposition(w http.ResponseWriter, r *http.Request) {
	if !s.authorizeWebhook(w, r) {
		return
	}
	body, ok := readScreenedBody(w, r)
	if !ok {
		return
	}
	req, bad := request.DecodeDisposition(body)
	if bad != nil {
		writeBadRequest(w, bad.Error(), bad.Fields)
		return
	}
	noteTransactionID(r.Context(), req.TransactionID)

	action, financial := s.dispositions[req.DispositionCode]
	if !financial {
		writeJSON(w, http.StatusOK, ignoredResponse{
			Status: "ignored",
			Reason: fmt.Sprintf("disposition code %q is not a financial disposition", req.DispositionCode),
		})
		return
	}
	d := req.WorkflowInput(action, s.currency, s.now())

	ctx, cancel := context.WithTimeout(r.Context(), s.startTimeout)
	defer cancel()
	out, err := s.startRemediation(ctx, d)
	if err != nil {
		s.temporalFailed(w, r, "start workflow", err)
		return
	}
	if out.Started {
		s.metrics.remediationStarted(d.Action)
		s.logger.InfoContext(r.Context(), "remediation started", "transactionId", d.TransactionID,
			"workflowId", out.WorkflowID, "runId", out.RunID, "action", string(d.Action), "needsReview", d.NeedsReviewFromStart())
		writeJSON(w, http.StatusAccepted, startedResponse{Status: "started", WorkflowID: out.WorkflowID, RunID: out.RunID})
		return
	}
	// The start has answered; the state lookup gets its own budget, so a
	// slow start does not leave the duplicate without a state.
	stateCtx, cancelState := context.WithTimeout(r.Context(), s.startTimeout)
	defer cancelState()
	ex := s.existingRemediation(stateCtx, out)
	writeJSON(w, http.StatusOK, duplicateResponse{
		Status: "duplicate", WorkflowID: out.WorkflowID, RunID: out.RunID, State: ex.state, Action: ex.action,
	})
}
