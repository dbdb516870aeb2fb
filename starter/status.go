package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/internal/codec"
	"github.com/refundflow/refundflow/internal/pci"
	"github.com/refundflow/refundflow/internal/remediation"
)

var (
	errUnknownTransaction = errors.New("no remediation for this transaction")
	// errNoWorker: the workflow is running but nothing answered its query.
	errNoWorker = errors.New("the workflow did not answer the status query")
)

// statusResult is a remediation's status and where it came from.
type statusResult struct {
	status remediation.Status
	// closed is true when the workflow is known to have ended.
	closed bool
	// source is "query", "result" (a closed workflow's outcome, read from
	// history) or "visibility" (only the RemediationState search attribute).
	source string
}

// lookupStatus asks the workflow for its status. When the query cannot be
// answered it falls back on what needs no worker: a closed workflow's
// result is its final status; otherwise visibility knows the state.
func (s *server) lookupStatus(ctx context.Context, txn string) (statusResult, error) {
	workflowID := remediation.WorkflowID(txn)
	st, qerr := s.queryStatus(ctx, workflowID, "")
	switch {
	case qerr == nil:
		return statusResult{status: st, source: "query"}, nil
	case isNotFound(qerr):
		return statusResult{}, errUnknownTransaction
	}
	var unavailable *serviceerror.Unavailable
	if errors.As(qerr, &unavailable) {
		return statusResult{}, qerr // Temporal itself is down: no fallback can help
	}
	desc, err := s.describe(ctx, workflowID, "")
	switch {
	case isNotFound(err):
		return statusResult{}, errUnknownTransaction
	case err != nil:
		return statusResult{}, err
	}
	fromVisibility := statusResult{
		status: remediation.Status{
			State:         remediation.State(desc.state),
			TransactionID: txn,
			Decisions:     []remediation.DecisionRecord{},
		},
		closed: !desc.running,
		source: "visibility",
	}
	if desc.running {
		return fromVisibility, fmt.Errorf("%w: %w", errNoWorker, qerr)
	}
	rctx, cancel := context.WithTimeout(ctx, s.startTimeout)
	defer cancel()
	var final remediation.Status
	if err := s.temporal.GetWorkflow(rctx, workflowID, desc.runID).Get(rctx, &final); err == nil {
		return statusResult{status: final, closed: true, source: "result"}, nil
	}
	// Terminated, timed out or failed: there is no result, only the state.
	return fromVisibility, nil
}

// pathTransactionID reads and checks {transactionId}. A card number passes
// the ID pattern, so it is screened like any body value.
func pathTransactionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	txn := r.PathValue("transactionId")
	if pci.ContainsCardNumber(txn) {
		noteCardDataRejected(r.Context())
		writeError(w, http.StatusUnprocessableEntity, "cardholder data rejected")
		return "", false
	}
	if !remediation.ValidTransactionID(txn) {
		writeBadRequest(w, "transactionId must be 1-128 characters of A-Z a-z 0-9 . _ : -", []string{"transactionId"})
		return "", false
	}
	noteTransactionID(r.Context(), txn)
	return txn, true
}

// handleStatus is GET /v1/remediations/{transactionId}, for finance ops.
func (s *server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorizeApprover(w, r); !ok {
		return
	}
	txn, ok := pathTransactionID(w, r)
	if !ok {
		return
	}
	res, err := s.lookupStatus(r.Context(), txn)
	if err != nil {
		s.statusFailed(w, r, res, err)
		return
	}
	if res.status.Decisions == nil {
		res.status.Decisions = []remediation.DecisionRecord{}
	}
	answer := statusAnswer{Status: res.status}
	if !res.closed && res.status.State == remediation.StateSubmitting {
		answer.Retrying = s.retrying(r.Context(), remediation.WorkflowID(txn))
	}
	w.Header().Set("X-Refundflow-Status-Source", res.source)
	writeJSON(w, http.StatusOK, answer)
}

// statusAnswer is the status query's answer as it is, and, while the gateway
// call is being retried, what is happening to it.
type statusAnswer struct {
	remediation.Status
	Retrying *retryingCall `json:"retrying,omitempty"`
}

// retryingCall is a submission between its retries.
type retryingCall struct {
	Activity    string `json:"activity"`
	FailedTries int32  `json:"failedTries"`
	LastFailure string `json:"lastFailure"`
}

// statusFailed answers a lookup that found no status: 404 for an unknown
// transaction, 503 when no worker answered (with the state visibility
// knows) or Temporal is unavailable.
func (s *server) statusFailed(w http.ResponseWriter, r *http.Request, res statusResult, err error) {
	switch {
	case errors.Is(err, errUnknownTransaction):
		writeError(w, http.StatusNotFound, "no remediation for this transaction")
	case errors.Is(err, errNoWorker):
		s.logger.WarnContext(r.Context(), "status query unanswered", "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{
			Error: "the workflow did not answer the status query; is a worker running?",
			State: string(res.status.State),
		})
	default:
		s.temporalFailed(w, r, "status lookup", err)
	}
}

// retrying reads a submission's retries while they go on. The workflow
// hears of a failure only when the retries are over (minutes, with the
// default retry window), so its status says nothing in the meantime;
// finance ops asking why a refund is not done yet get the failed tries and
// the gateway's last answer from the pending activity instead, without
// opening the Temporal UI. The message is decoded with the codec keys, as
// the workflow's own failures are. Best effort: nil when there is no failed
// try yet, or Temporal does not describe the workflow in time.
func (s *server) retrying(ctx context.Context, workflowID string) *retryingCall {
	ctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	resp, err := s.temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		s.logger.DebugContext(ctx, "no pending-activity details for the status", "error", err)
		return nil
	}
	for _, pending := range resp.GetPendingActivities() {
		name := pending.GetActivityType().GetName()
		// Only the gateway call: a reminder whose cancel is not yet heard
		// may be pending beside an approval's submission.
		if pending.GetLastFailure() == nil || (name != "SubmitRefund" && name != "SubmitChargeback") {
			continue
		}
		cause := codec.FailureConverter(s.codecKeys).FailureToError(pending.GetLastFailure())
		msg := cause.Error()
		var appErr *temporal.ApplicationError
		if errors.As(cause, &appErr) {
			msg = appErr.Message() + " (" + appErr.Type() + ")"
		}
		return &retryingCall{Activity: name, FailedTries: pending.GetAttempt() - 1,
			LastFailure: truncate(strings.Join(strings.Fields(msg), " "), 300)}
	}
	return nil
}
