// Package replaygate answers "is it safe to deploy this build?" before a
// deploy: it downloads the histories of the remediations a cluster still
// runs (reviews may have waited for weeks), and a sample of recently closed
// ones, and replays each against this build's workflow code. A build whose
// code would issue other commands than a history recorded fails here, not
// in production, where the workflow task would fail over and over
// (non-determinism) and the review would stall.
package replaygate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Registry is what a workflow registers itself with: a worker, or here the
// replayer.
type Registry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// Options say which histories to replay against what.
type Options struct {
	Client    client.Client
	Namespace string
	TaskQueue string
	// Register adds this build's workflows to the replayer, as the worker
	// adds them to itself.
	Register func(Registry)
	// DataConverter and FailureConverter decode the payloads, as the
	// worker's do (the codec's, when payloads are encrypted).
	DataConverter    converter.DataConverter
	FailureConverter converter.FailureConverter
	// MaxOpen bounds the open remediations replayed (0: every one);
	// ClosedSample is how many of those closed within ClosedWithin are
	// replayed too, the most recently closed first (0: none).
	MaxOpen      int
	ClosedSample int
	ClosedWithin time.Duration
	Logger       log.Logger
}

// Failure is one history this build cannot replay.
type Failure struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Open       bool   `json:"open"`
	Error      string `json:"error"`
}

// Result is what was replayed and what failed.
type Result struct {
	Open     int       `json:"open"`
	Closed   int       `json:"closed"`
	Events   int       `json:"events"`
	Failures []Failure `json:"failures"`
}

// Run replays the open remediations and the closed sample. It returns an
// error only when it could not read what to replay; a history that does
// not replay is a Failure.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{Failures: []Failure{}}
	base := "WorkflowType = '" + remediation.WorkflowType + "' AND TaskQueue = " + quote(o.TaskQueue)
	open, err := list(ctx, o, base+" AND ExecutionStatus = 'Running'", o.MaxOpen)
	if err != nil {
		return res, err
	}
	var closed []execution
	if o.ClosedSample > 0 {
		since := time.Now().Add(-o.ClosedWithin).UTC().Format(time.RFC3339Nano)
		if closed, err = list(ctx, o, base+" AND ExecutionStatus != 'Running' AND CloseTime > "+quote(since), o.ClosedSample); err != nil {
			return res, err
		}
	}
	for _, batch := range []struct {
		runs []execution
		open bool
	}{{open, true}, {closed, false}} {
		for _, e := range batch.runs {
			events, err := replay(ctx, o, e)
			res.Events += events
			if batch.open {
				res.Open++
			} else {
				res.Closed++
			}
			var notReplayed errNotReplayed
			switch {
			case errors.As(err, &notReplayed):
				res.Failures = append(res.Failures, Failure{WorkflowID: e.workflowID, RunID: e.runID, Open: batch.open, Error: notReplayed.Error()})
			case err != nil:
				return res, err
			}
		}
	}
	return res, nil
}

type execution struct{ workflowID, runID string }

// list pages through visibility until limit runs (0: all) are found.
func list(ctx context.Context, o Options, query string, limit int) ([]execution, error) {
	var out []execution
	var token []byte
	for {
		resp, err := o.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: o.Namespace, Query: query, PageSize: 100, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list remediations (%s): %w", query, err)
		}
		for _, info := range resp.GetExecutions() {
			out = append(out, execution{info.GetExecution().GetWorkflowId(), info.GetExecution().GetRunId()})
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// errNotReplayed is a history that was read whole and did not replay.
type errNotReplayed struct{ err error }

func (e errNotReplayed) Error() string { return e.err.Error() }

// replay downloads one run's history and replays it with a fresh replayer
// (a replayer keeps no state between histories that could mask a failure).
func replay(ctx context.Context, o Options, e execution) (int, error) {
	iter := o.Client.GetWorkflowHistory(ctx, e.workflowID, e.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return 0, fmt.Errorf("read the history of %s (%s): %w", e.workflowID, e.runID, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	if err := decodable(o.DataConverter, hist); err != nil {
		return len(hist.Events), errNotReplayed{err}
	}
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		DataConverter:    o.DataConverter,
		FailureConverter: o.FailureConverter,
	})
	if err != nil {
		return 0, err
	}
	o.Register(replayer)
	if err := replayer.ReplayWorkflowHistoryWithOptions(o.Logger, hist, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: e.workflowID, RunID: e.runID},
	}); err != nil {
		return len(hist.Events), errNotReplayed{err}
	}
	return len(hist.Events), nil
}

// decodable checks that the run's input decodes, so that payloads this
// build cannot read (encrypted, and no or other codec keys) are reported
// as that, not as the non-determinism the replay would show.
func decodable(dc converter.DataConverter, hist *historypb.History) error {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	if len(hist.GetEvents()) == 0 {
		return errors.New("empty history")
	}
	for _, p := range hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads() {
		var raw json.RawMessage
		if err := dc.FromPayload(p, &raw); err != nil {
			return fmt.Errorf("cannot decode its input (are REFUNDFLOW_CODEC_KEYS the worker's?): %w", err)
		}
	}
	return nil
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
