package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

// A page of the list holds defaultListLimit remediations unless the caller
// asks for up to maxListLimit: enough for a review queue, small enough that
// one request stays one cheap visibility call.
const (
	defaultListLimit = 50
	maxListLimit     = 200
)

// listStates are the RemediationState values a list can be filtered by.
// Only these reach the visibility query, so no caller text ever does.
var listStates = []remediation.State{
	remediation.StateSubmitting,
	remediation.StateCompleted,
	remediation.StateAwaitingReview,
	remediation.StateRejected,
	remediation.StateResolvedManually,
}

// remediationItem is one remediation as visibility knows it: its search
// attributes and times, without asking the workflow anything.
type remediationItem struct {
	TransactionID   string     `json:"transactionId"`
	WorkflowID      string     `json:"workflowId"`
	RunID           string     `json:"runId"`
	State           string     `json:"state"`
	Action          string     `json:"action,omitempty"`
	DispositionCode string     `json:"dispositionCode,omitempty"`
	StartTime       time.Time  `json:"startTime"`
	CloseTime       *time.Time `json:"closeTime,omitempty"`
}

type remediationList struct {
	Remediations  []remediationItem `json:"remediations"`
	NextPageToken string            `json:"nextPageToken,omitempty"`
}

// listRequest is a checked GET /v1/remediations.
type listRequest struct {
	state     remediation.State // "" for every state
	limit     int
	pageToken []byte
}

// parseListRequest reads ?state=, ?limit= and ?pageToken=, answering 400
// (naming the parameter) when one is not usable.
func parseListRequest(w http.ResponseWriter, r *http.Request, taskQueue string) (listRequest, bool) {
	q := r.URL.Query()
	req := listRequest{limit: defaultListLimit}
	if v := q.Get("state"); v != "" {
		for _, st := range listStates {
			if v == string(st) {
				req.state = st
			}
		}
		if req.state == "" {
			writeBadRequest(w, "state must be one of "+joinStates(listStates), []string{"state"})
			return req, false
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit || v[0] < '0' || v[0] > '9' {
			writeBadRequest(w, "limit must be a whole number from 1 to "+strconv.Itoa(maxListLimit), []string{"limit"})
			return req, false
		}
		req.limit = n
	}
	if v := q.Get("pageToken"); v != "" {
		token, ok := openPageToken(v, remediationsQuery(taskQueue, req.state))
		if !ok {
			writeBadRequest(w, "pageToken must be the nextPageToken of an earlier answer to the same state", []string{"pageToken"})
			return req, false
		}
		req.pageToken = token
	}
	return req, true
}

// A nextPageToken is Temporal's page token behind a checksum of it and of
// the query it continues. Temporal answers a token it cannot read with an
// Unknown error that the client retries until the deadline, which would
// tell the caller to retry in vain; the checksum turns a damaged token, or
// one from a list of another state, into a 400 at once. It is no secret
// (an approver is trusted with the list anyway), and it needs no key, so
// any starter continues any other's list.
const pageTokenSumBytes = 8

func pageTokenSum(query string, token []byte) []byte {
	h := sha256.New()
	h.Write([]byte(query))
	h.Write([]byte{0})
	h.Write(token)
	return h.Sum(nil)[:pageTokenSumBytes]
}

func sealPageToken(token []byte, query string) string {
	return base64.RawURLEncoding.EncodeToString(append(pageTokenSum(query, token), token...))
}

func openPageToken(s, query string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) <= pageTokenSumBytes {
		return nil, false
	}
	sum, token := raw[:pageTokenSumBytes], raw[pageTokenSumBytes:]
	return token, bytes.Equal(sum, pageTokenSum(query, token))
}

func joinStates(states []remediation.State) string {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// remediationsQuery selects this starter's remediations (its namespace is
// the client's; its task queue and the workflow type are named here), in
// one state or all. A review that continued as new leaves its earlier runs
// behind with the state they ended in: only the latest run of each
// remediation is listed.
func remediationsQuery(taskQueue string, state remediation.State) string {
	q := "WorkflowType = " + quoteQueryValue(remediation.WorkflowType) +
		" AND TaskQueue = " + quoteQueryValue(taskQueue) +
		" AND ExecutionStatus != 'ContinuedAsNew'"
	if state != "" {
		q += " AND " + remediation.AttrState + " = " + quoteQueryValue(string(state))
	}
	return q
}

// quoteQueryValue is s as a string literal of Temporal's visibility query
// language. The state is one of listStates; the task queue is the
// operator's, and escaped anyway.
func quoteQueryValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// handleList is GET /v1/remediations: the review queue (?state=AwaitingReview)
// or any other slice of the remediations, for finance ops without the
// Temporal UI. It is one visibility call: what the search attributes say,
// in visibility's order (running ones first, newest first; then closed
// ones, the most recently closed first; Temporal's SQL visibility takes no
// ORDER BY).
func (s *server) handleList(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorizeApprover(w, r); !ok {
		return
	}
	req, ok := parseListRequest(w, r, s.taskQueue)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.startTimeout)
	defer cancel()
	query := remediationsQuery(s.taskQueue, req.state)
	resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace:     s.namespace,
		PageSize:      int32(req.limit),
		NextPageToken: req.pageToken,
		Query:         query,
	})
	if err != nil {
		s.temporalFailed(w, r, "list remediations", err)
		return
	}
	out := remediationList{Remediations: make([]remediationItem, 0, len(resp.GetExecutions()))}
	for _, info := range resp.GetExecutions() {
		out.Remediations = append(out.Remediations, s.remediationItem(info))
	}
	if next := resp.GetNextPageToken(); len(next) > 0 {
		out.NextPageToken = sealPageToken(next, query)
	}
	writeJSON(w, http.StatusOK, out)
}

// remediationItem reads one execution's search attributes. The action is
// the disposition code's under this starter's REFUNDFLOW_DISPOSITIONS
// (absent if the code is no longer mapped); the code itself is given too.
func (s *server) remediationItem(info *workflowpb.WorkflowExecutionInfo) remediationItem {
	attrs := info.GetSearchAttributes().GetIndexedFields()
	item := remediationItem{
		WorkflowID:      info.GetExecution().GetWorkflowId(),
		RunID:           info.GetExecution().GetRunId(),
		TransactionID:   temporalclient.Keyword(attrs, remediation.AttrTransactionID),
		State:           temporalclient.Keyword(attrs, remediation.AttrState),
		DispositionCode: temporalclient.Keyword(attrs, remediation.AttrDispositionCode),
		StartTime:       info.GetStartTime().AsTime().UTC(),
	}
	if item.TransactionID == "" {
		item.TransactionID = strings.TrimPrefix(item.WorkflowID, remediation.WorkflowID(""))
	}
	if action, ok := s.dispositions[item.DispositionCode]; ok {
		item.Action = string(action)
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && info.GetCloseTime() != nil {
		closed := info.GetCloseTime().AsTime().UTC()
		item.CloseTime = &closed
	}
	return item
}
