package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/workflows"
)

// maxWorkitemEventBytes bounds a workitem event: the whole Process
// Automation event is a few KiB.
const maxWorkitemEventBytes = 64 << 10

// workitemEvent is what the Data Action posts: {"workitemId"}, or the
// whole trigger event, whose workitem id is its id (at the top, or in
// eventBody as Genesys's notification envelope has it).
type workitemEvent struct {
	WorkitemID string `json:"workitemId"`
	ID         string `json:"id"`
	EventBody  struct {
		ID string `json:"id"`
	} `json:"eventBody"`
}

func (e workitemEvent) workitem() string {
	for _, id := range []string{e.WorkitemID, e.EventBody.ID, e.ID} {
		if id = strings.TrimSpace(id); id != "" {
			return id
		}
	}
	return ""
}

type workitemEventResponse struct {
	Status     string `json:"status"`
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
}

// handleWorkitemEvent is POST /v1/genesys-events/workitem, the hint that
// a review workitem changed in Genesys. Nothing in the body is trusted
// but the workitem's id: the worker reads the workitem back from Genesys
// and applies what its status says (workflows/workitemdecision.go). The
// short workflow per workitem is signalled-with-start, so an event while
// one runs makes it read once more, and one after it has ended starts a
// new run (reuse allowed: a workitem may be decided again after a failed
// approval).
func (s *server) handleWorkitemEvent(w http.ResponseWriter, r *http.Request) {
	if !s.authorizeWebhook(w, r) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWorkitemEventBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	var ev workitemEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		writeBadRequest(w, "the body is not a workitem event", nil)
		return
	}
	id := ev.workitem()
	if !isGenesysID(id) {
		writeBadRequest(w, "workitemId must be a Genesys workitem id (a UUID)", []string{"workitemId"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.startTimeout)
	defer cancel()
	wid := workflows.WorkitemDecisionWorkflowID(id)
	run, err := s.temporal.SignalWithStartWorkflow(ctx, wid, workflows.WorkitemEventSignal, nil, client.StartWorkflowOptions{
		ID:                    wid,
		TaskQueue:             s.taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:         "Read Genesys workitem " + id + " and apply its decision",
	}, workflows.WorkitemDecisionWorkflowType, id)
	if err != nil {
		s.temporalFailed(w, r, "signal-with-start the workitem decision", err)
		return
	}
	s.logger.InfoContext(r.Context(), "Genesys workitem event taken", "workitemId", id, "workflowId", wid, "runId", run.GetRunID())
	writeJSON(w, http.StatusAccepted, workitemEventResponse{Status: "accepted", WorkflowID: wid, RunID: run.GetRunID()})
}

// isGenesysID reports whether s has the 8-4-4-4-12 hex shape of Genesys ids.
func isGenesysID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}
