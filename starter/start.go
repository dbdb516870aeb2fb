package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/workflows"
)

// startOutcome is what starting a remediation found.
type startOutcome struct {
	WorkflowID string
	RunID      string
	// Started is true only for the request that created the workflow.
	Started bool
	// Closed is true when the transaction's workflow has already ended.
	Closed bool
}

// startRemediation starts the transaction's one workflow, or finds it.
//
// The workflow ID is the transaction's, conflict policy USE_EXISTING returns
// a running workflow instead of starting a second, and reuse policy
// REJECT_DUPLICATE refuses a new run after the first has closed: one
// remediation per transaction, ever, however often Genesys retries and
// however many requests race. A closed workflow comes back as
// WorkflowExecutionAlreadyStarted (with its run ID) because of
// WorkflowExecutionErrorWhenAlreadyStarted.
func (s *server) startRemediation(ctx context.Context, d remediation.Disposition) (startOutcome, error) {
	out := startOutcome{WorkflowID: remediation.WorkflowID(d.TransactionID)}
	ctx, rec := withStartRecorder(ctx)
	run, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       out.WorkflowID,
		TaskQueue:                                s.taskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    workflows.StartSearchAttributes(d),
		StaticSummary:                            staticSummary(d),
		StaticDetails:                            staticDetails(d),
		// Saves a poll round trip when a worker shares this client; the
		// starter alone has none, and Temporal then dispatches normally.
		EnableEagerStart: true,
	}, remediation.WorkflowType, d)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		out.RunID, out.Closed = already.RunId, true
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("start %s: %w", out.WorkflowID, err)
	}
	started, seen := rec.result()
	if !seen {
		// Only a client built without recordStartInterceptor gets here.
		return out, errors.New("start response not recorded: client lacks the start interceptor")
	}
	out.RunID, out.Started = run.GetRunID(), started
	return out, nil
}

// maxSummaryBytes keeps the summary under Temporal's user-metadata limit.
const maxSummaryBytes = 200

// staticSummary is the one line the Temporal UI shows for the workflow:
// action, amount and transaction, never a customer token or ID.
func staticSummary(d remediation.Disposition) string {
	s := d.Summary()
	if len(s) <= maxSummaryBytes {
		return s
	}
	return strings.ToValidUTF8(s[:maxSummaryBytes-3], "") + "..."
}

// staticDetails is the markdown the UI shows under the summary: what came
// in from Genesys, minus the customer's identifiers.
func staticDetails(d remediation.Disposition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Disposition** `%s` → **%s**\n\n", markdownCode(d.DispositionCode), d.Action)
	if d.AmountError == "" {
		amount, _ := money.FormatMajor(d.AmountMinor, d.Currency)
		fmt.Fprintf(&b, "**Amount** %s %s\n\n", amount, d.Currency)
	} else {
		fmt.Fprintf(&b, "**Amount** `%s` %s: cannot be used (%s), so this goes to finance review\n\n",
			markdownCode(d.AmountText), markdownCode(d.Currency), markdownCode(d.AmountError))
	}
	fmt.Fprintf(&b, "**Transaction** `%s`\n\n", d.TransactionID)
	if d.ConversationID != "" {
		fmt.Fprintf(&b, "**Conversation** `%s`\n\n", markdownCode(d.ConversationID))
	}
	fmt.Fprintf(&b, "**Received** %s", markdownCode(d.Timestamp))
	return b.String()
}

// markdownCode keeps caller text inside one code span on one line.
func markdownCode(s string) string {
	s = strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
	return truncate(s, 128)
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// existing is what a duplicate says of the remediation already there.
type existing struct {
	state  string
	action string // "" when not known
}

// existingRemediation is the state and action shown for a duplicate: the
// status query's for a running workflow (they are current), and
// visibility's for a closed one (no worker needs to replay it) or when the
// query fails: RemediationState, and the action of its DispositionCode
// under this starter's dispositions, both in the one describe call.
func (s *server) existingRemediation(ctx context.Context, out startOutcome) existing {
	if !out.Closed {
		st, err := s.queryStatus(ctx, out.WorkflowID, out.RunID)
		if err == nil {
			return existing{state: string(st.State), action: string(st.Action)}
		}
		s.logger.DebugContext(ctx, "status query failed; using visibility", "workflowId", out.WorkflowID, "error", err)
	}
	desc, err := s.describe(ctx, out.WorkflowID, out.RunID)
	if err != nil {
		s.logger.WarnContext(ctx, "describe failed; duplicate answered without a state", "workflowId", out.WorkflowID, "error", err)
		return existing{}
	}
	return existing{state: desc.state, action: string(s.dispositions[desc.dispositionCode])}
}

// queryStatus runs the status query within the query timeout. A workflow
// whose first task has not run yet cannot answer; it is asked again until
// the timeout.
func (s *server) queryStatus(ctx context.Context, workflowID, runID string) (remediation.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	for {
		value, err := s.temporal.QueryWorkflow(ctx, workflowID, runID, remediation.StatusQuery)
		if err == nil {
			var st remediation.Status
			if err := value.Get(&st); err != nil {
				return st, fmt.Errorf("decode status of %s: %w", workflowID, err)
			}
			return st, nil
		}
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) {
			return remediation.Status{}, err
		}
		select {
		case <-ctx.Done():
			return remediation.Status{}, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// description is what visibility knows of a workflow.
type description struct {
	runID   string
	running bool
	state   string
	// dispositionCode is the DispositionCode search attribute.
	dispositionCode string
}

func (s *server) describe(ctx context.Context, workflowID, runID string) (description, error) {
	ctx, cancel := context.WithTimeout(ctx, s.startTimeout)
	defer cancel()
	resp, err := s.temporal.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		return description{}, err
	}
	state, _ := resp.TypedSearchAttributes.GetKeyword(workflows.StateKey)
	code, _ := resp.TypedSearchAttributes.GetKeyword(workflows.DispositionCodeKey)
	return description{
		runID:           resp.WorkflowExecution.RunID,
		running:         resp.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		state:           state,
		dispositionCode: code,
	}, nil
}
