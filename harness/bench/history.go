package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// historyCost is what one workflow's history says it cost.
type historyCost struct {
	events   int
	billable int
	// firstTaskWait is how long the first workflow task waited for a
	// worker: what eager workflow start would save.
	firstTaskWait time.Duration
	// activityWaits are how long each activity task on the workflow's
	// queue waited for a worker: what eager activity execution saves.
	// genesysWaits are those on the paced Genesys queue, which eager
	// execution does not reach (it serves the workflow's own queue only).
	activityWaits, genesysWaits []time.Duration
}

// dispatchWaits reads, from a history's timestamps, how long tasks waited
// between being scheduled and being picked up.
func dispatchWaits(events []*historypb.HistoryEvent) (firstTask time.Duration, activities, genesys []time.Duration) {
	scheduled := map[int64]time.Time{}
	paced := map[int64]bool{}
	first := true
	for _, e := range events {
		at := e.GetEventTime().AsTime()
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[e.GetEventId()] = at
			paced[e.GetEventId()] = strings.HasSuffix(e.GetActivityTaskScheduledEventAttributes().GetTaskQueue().GetName(), "-genesys")
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if first {
				firstTask, first = at.Sub(scheduled[e.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()]), false
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			id := e.GetActivityTaskStartedEventAttributes().GetScheduledEventId()
			if paced[id] {
				genesys = append(genesys, at.Sub(scheduled[id]))
			} else {
				activities = append(activities, at.Sub(scheduled[id]))
			}
		}
	}
	return firstTask, activities, genesys
}

// billableActions counts, from a history, the Temporal Cloud actions it
// records (https://docs.temporal.io/cloud/actions): the start, each
// activity attempt, timers, signals, search-attribute upserts, properties
// modified, side effects and local activities (markers), child starts,
// external signals and cancels, accepted updates, continue-as-new, Nexus
// operations. Workflow tasks are free. Search attributes given at the
// start are free, and so is a start deduplicated by workflow ID (the
// duplicate webhook's), which never reaches a history. Queries are billed
// but leave no event, so a caller counts them itself; the benchmark's
// paths send none (a duplicate of a closed remediation is answered from
// DescribeWorkflowExecution, which is not an action).
func billableActions(events []*historypb.HistoryEvent) int {
	n := 0
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_TIMER_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
			enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
			enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
			enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
			enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
			enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED:
			n++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			// GetVersion's marker is exempt; side effects and local
			// activities are not.
			if e.GetMarkerRecordedEventAttributes().GetMarkerName() != "Version" {
				n++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			// One started event stands for every attempt up to the one that
			// finished; each attempt is an action.
			n += int(max(e.GetActivityTaskStartedEventAttributes().GetAttempt(), 1))
		}
	}
	return n
}

// historyCosts reads the full history of each run, a few at a time.
func historyCosts(ctx context.Context, c client.Client, runs []closedRun) ([]historyCost, error) {
	costs := make([]historyCost, len(runs))
	errs := make([]error, len(runs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var events []*historypb.HistoryEvent
			iter := c.GetWorkflowHistory(ctx, r.workflowID, r.runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				e, err := iter.Next()
				if err != nil {
					errs[i] = fmt.Errorf("history of %s: %w", r.workflowID, err)
					return
				}
				events = append(events, e)
			}
			costs[i] = historyCost{events: len(events), billable: billableActions(events)}
			costs[i].firstTaskWait, costs[i].activityWaits, costs[i].genesysWaits = dispatchWaits(events)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return costs, nil
}
