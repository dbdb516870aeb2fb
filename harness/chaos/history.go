package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Activity type names as the worker registers them.
const (
	activityEscalate         = "EscalateToFinance"
	activitySubmitRefund     = "SubmitRefund"
	activitySubmitChargeback = "SubmitChargeback"
	activityCheckSettlement  = "CheckSettlement"
)

// How the workflow heard the gateway's word on a refund.
const (
	byWebhook = "webhook" // the gateway-event signal, from the starter
	byPoll    = "poll"    // a CheckSettlement activity's answer
)

// gatewayWord is one word of the gateway a run received.
type gatewayWord struct {
	By string
	remediation.GatewayEvent
	At time.Time
}

// history is what one run's event history says.
type history struct {
	Events int
	Bytes  int
	// Escalations counts EscalateToFinance scheduled: > 0 means the
	// transaction was in review at some point.
	Escalations int
	// FirstEscalated is when finance ops were first told.
	FirstEscalated time.Time
	Started        time.Time
	Closed         time.Time
	// CloseEvent is the type of the closing event, 0 while running.
	CloseEvent enumspb.EventType
	// Result is the workflow's result, for a run that completed.
	Result *remediation.Status
	// Reopened: the starter started this run for a failure or reversal
	// after an earlier run ended Completed.
	Reopened bool
	// Words are the gateway's words the run received, in history order:
	// webhooks (signals) and polls (CheckSettlement answers).
	Words []gatewayWord
	// Polls counts CheckSettlement activities scheduled.
	Polls int
	// Findings are secrets or card numbers in the raw event bytes.
	Findings []finding
}

// readHistory reads one run's events, scanning the raw bytes of each, as
// they are stored and as the UI, the CLI and an export would show them.
func (w *world) readHistory(ctx context.Context, workflowID, runID string, sc *scanner) (history, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var h history
	scheduled := map[int64]string{}
	it := w.Client.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		raw, err := proto.Marshal(ev)
		if err != nil {
			return h, fmt.Errorf("encode event %d of %s: %w", ev.GetEventId(), workflowID, err)
		}
		h.Events++
		h.Bytes += len(raw)
		h.Findings = append(h.Findings, sc.scan("history of "+workflowID, raw, true)...)
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			h.Started = at
			if in := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads(); len(in) > 1 {
				var continued struct {
					Reopened *remediation.GatewayEvent `json:"reopened"`
				}
				if json.Unmarshal(in[1].GetData(), &continued) == nil && continued.Reopened != nil {
					h.Reopened = true
				}
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			attrs := ev.GetWorkflowExecutionSignaledEventAttributes()
			if in := attrs.GetInput().GetPayloads(); attrs.GetSignalName() == remediation.GatewayEventSignal && len(in) > 0 {
				var gev remediation.GatewayEvent
				if json.Unmarshal(in[0].GetData(), &gev) == nil {
					h.Words = append(h.Words, gatewayWord{By: byWebhook, GatewayEvent: gev, At: at})
				}
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			scheduled[ev.GetEventId()] = name
			switch name {
			case activityEscalate:
				h.Escalations++
			case activityCheckSettlement:
				h.Polls++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			attrs := ev.GetActivityTaskCompletedEventAttributes()
			id := attrs.GetScheduledEventId()
			if scheduled[id] == activityEscalate && h.FirstEscalated.IsZero() {
				h.FirstEscalated = at
			}
			if out := attrs.GetResult().GetPayloads(); scheduled[id] == activityCheckSettlement && len(out) > 0 {
				var gev remediation.GatewayEvent
				if json.Unmarshal(out[0].GetData(), &gev) == nil {
					h.Words = append(h.Words, gatewayWord{By: byPoll, GatewayEvent: gev, At: at})
				}
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			h.Closed, h.CloseEvent = at, ev.GetEventType()
			payloads := ev.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()
			if len(payloads) > 0 {
				var st remediation.Status
				if err := json.Unmarshal(payloads[0].GetData(), &st); err != nil {
					return h, fmt.Errorf("result of %s: %w", workflowID, err)
				}
				h.Result = &st
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			h.Closed, h.CloseEvent = at, ev.GetEventType()
		}
	}
	return h, nil
}

// readHistories reads every run's history, a few at a time.
func (w *world) readHistories(ctx context.Context, runs []execution, sc *scanner) (map[string]history, error) {
	var mu sync.Mutex
	out := map[string]history{}
	var firstErr error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, e := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h, err := w.readHistory(ctx, e.WorkflowID, e.RunID, sc)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out[e.RunID] = h
		}()
	}
	wg.Wait()
	return out, firstErr
}
