package main

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/codec"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/workflows"
)

// errNothingToReopen: the event is about nothing that ended Completed, or
// says nothing that needs a human (a late succeeded, say).
var errNothingToReopen = errors.New("nothing to reopen")

// reopenCompleted puts a remediation that ended Completed back in front of
// finance when its gateway reports the refund failed or reversed after the
// end. The transaction keeps its one workflow ID: the reopened review is a
// new run of remediation-<transactionId>, started only from here, only
// after a Completed run, and with the conflict policy failing when a run is
// open (a concurrent event then signals that run instead). Dispositions are
// still started with reuse policy reject-duplicate, so a second disposition
// can never start a run of a closed transaction: one money trail.
func (s *server) reopenCompleted(ctx context.Context, txn string, ev remediation.GatewayEvent) error {
	settlement := remediation.SettlementOf(ev.Status)
	if settlement != remediation.SettlementFailed && settlement != remediation.SettlementReversed {
		return errNothingToReopen
	}
	id := remediation.WorkflowID(txn)
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return err
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return errNothingToReopen
	}
	runID := info.GetExecution().GetRunId()
	var outcome remediation.Outcome
	if err := s.temporal.GetWorkflow(ctx, id, runID).Get(ctx, &outcome); err != nil {
		return fmt.Errorf("read the outcome of %s: %w", id, err)
	}
	if outcome.State != remediation.StateCompleted ||
		(ev.GatewayReference != "" && outcome.GatewayReference != "" && ev.GatewayReference != outcome.GatewayReference) {
		// Rejected or resolved by hand, or an event about an older refund.
		return errNothingToReopen
	}
	d, err := temporalclient.StartedDisposition(ctx, s.temporal, codec.DataConverter(s.codecKeys), id, runID)
	if err != nil {
		return err
	}
	reopened := workflows.ContinuedReview{Status: outcome, RefundStatus: remediation.RefundStatusCompleted, Reopened: &ev}
	_, err = s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.taskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    workflows.ReopenSearchAttributes(d),
		StaticSummary:                            "Reopened: " + staticSummary(d),
		StaticDetails:                            staticDetails(d),
	}, remediation.WorkflowType, d, &reopened)
	return err
}

// isAlreadyStarted reports a start refused because a run is open.
func isAlreadyStarted(err error) bool {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &already)
}
