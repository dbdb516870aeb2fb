package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// pollEvery is how often the benchmark counts closed workflows. The end of
// a phase is taken from the workflows' own close times, not from when a
// count noticed it, so this only bounds how long the benchmark idles.
const pollEvery = 250 * time.Millisecond

// idQuery selects one phase's workflows of one type by their ID prefix.
func idQuery(workflowType, idPrefix string) string {
	return fmt.Sprintf("WorkflowType = '%s' AND WorkflowId STARTS_WITH '%s'", workflowType, idPrefix)
}

// waitAllClosed polls visibility until want workflows matching query have
// closed, and fails as soon as one closed other than Completed.
func waitAllClosed(ctx context.Context, c client.Client, query string, want int) error {
	for {
		closed, err := count(ctx, c, query+" AND ExecutionStatus != 'Running'")
		if err != nil {
			return err
		}
		if closed >= int64(want) {
			completed, err := count(ctx, c, query+" AND ExecutionStatus = 'Completed'")
			if err != nil {
				return err
			}
			if completed != closed {
				return fmt.Errorf("%d of %d workflows (%s) closed other than Completed", closed-completed, closed, query)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d closed workflows (%s), %d so far: %w", want, query, closed, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

func count(ctx context.Context, c client.Client, query string) (int64, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", query, err)
	}
	return resp.GetCount(), nil
}

// closedRun is what visibility holds of one closed workflow.
type closedRun struct {
	workflowID    string
	runID         string
	start, close  time.Time
	historyLength int64
}

// listClosed lists every workflow matching query, page by page.
func listClosed(ctx context.Context, c client.Client, query string) ([]closedRun, error) {
	var out []closedRun
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			out = append(out, closedRun{
				workflowID:    e.GetExecution().GetWorkflowId(),
				runID:         e.GetExecution().GetRunId(),
				start:         e.GetStartTime().AsTime(),
				close:         e.GetCloseTime().AsTime(),
				historyLength: e.GetHistoryLength(),
			})
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}
