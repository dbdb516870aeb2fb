package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/refundflow/refundflow/internal/remediation"
)

// execution is what visibility says about one workflow run.
type execution struct {
	WorkflowID string
	RunID      string
	Status     enumspb.WorkflowExecutionStatus
	// State and TransactionID are the RemediationState and TransactionId
	// search attributes.
	State         string
	TransactionID string
	Start         time.Time
	Close         time.Time
}

func (e execution) running() bool {
	return e.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// listExecutions pages through every run of RemediationWorkflow matching
// extra (a visibility WHERE clause, or "").
func (w *world) listExecutions(ctx context.Context, extra string) ([]execution, error) {
	query := fmt.Sprintf("WorkflowType = '%s'", remediation.WorkflowType)
	if extra != "" {
		query += " AND " + extra
	}
	var out []execution
	var token []byte
	for {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := w.Client.ListWorkflow(callCtx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: remediation.DefaultNamespace, PageSize: 1000, NextPageToken: token, Query: query,
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list workflows (%s): %w", query, err)
		}
		for _, info := range resp.Executions {
			e := execution{
				WorkflowID: info.GetExecution().GetWorkflowId(),
				RunID:      info.GetExecution().GetRunId(),
				Status:     info.GetStatus(),
				Start:      info.GetStartTime().AsTime(),
			}
			if info.GetCloseTime() != nil {
				e.Close = info.GetCloseTime().AsTime()
			}
			fields := info.GetSearchAttributes().GetIndexedFields()
			dc := converter.GetDefaultDataConverter()
			if p, ok := fields[remediation.AttrState]; ok {
				_ = dc.FromPayload(p, &e.State)
			}
			if p, ok := fields[remediation.AttrTransactionID]; ok {
				_ = dc.FromPayload(p, &e.TransactionID)
			}
			out = append(out, e)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			return out, nil
		}
	}
}

// queryStatus asks a running workflow for its status.
func (w *world) queryStatus(ctx context.Context, workflowID string) (remediation.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := w.Client.QueryWorkflow(ctx, workflowID, "", remediation.StatusQuery)
	if err != nil {
		return remediation.Status{}, fmt.Errorf("query %s: %w", workflowID, err)
	}
	var st remediation.Status
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode status of %s: %w", workflowID, err)
	}
	return st, nil
}

// queryAll queries the workflows, a few at a time, so the check does not
// starve the system it checks on two cores.
func (w *world) queryAll(ctx context.Context, workflowIDs []string) (map[string]remediation.Status, map[string]error) {
	var mu sync.Mutex
	got, failed := map[string]remediation.Status{}, map[string]error{}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range workflowIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, err := w.queryStatus(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[id] = err
				return
			}
			got[id] = st
		}()
	}
	wg.Wait()
	return got, failed
}
