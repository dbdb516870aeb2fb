package main

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func event(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }

func TestBillableActionsCountsWhatCloudBills(t *testing.T) {
	retried := event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	retried.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
		ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: 3},
	}
	version := event(enumspb.EVENT_TYPE_MARKER_RECORDED)
	version.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{
		MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: "Version"},
	}
	sideEffect := event(enumspb.EVENT_TYPE_MARKER_RECORDED)
	sideEffect.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{
		MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: "SideEffect"},
	}
	events := []*historypb.HistoryEvent{
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),    // free
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED),      // free
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),    // free
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),    // counted at its start
		retried, // 3 attempts
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),           // free
		event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES), // 1
		event(enumspb.EVENT_TYPE_TIMER_STARTED),                     // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),       // 1
		version,    // free
		sideEffect, // 1
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED),        // attempt 0 read as 1
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED), // free
	}
	if got := billableActions(events); got != 9 {
		t.Errorf("billableActions = %d, want 9", got)
	}
}
