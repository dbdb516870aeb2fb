package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// GenesysTaskQueue is the task queue of a workflow's Genesys activities:
// the workflow's own queue with "-genesys". The worker serves it with a
// worker of its own whose TaskQueueActivitiesPerSecond the Temporal
// server enforces across every worker polling it, so all the workers
// together stay within Genesys's rate limit (worker/genesys.go).
func GenesysTaskQueue(workflowTaskQueue string) string {
	return workflowTaskQueue + "-genesys"
}

// genesysActivityOptions are genesysOptions on the paced Genesys queue.
//
// No GetVersion guards the move (see versions.go, "not a change ID"): an
// activity's task queue is no part of what replay compares (the SDK
// matches a ScheduleActivityTask command to its event by activity ID and
// type), so every recorded history replays with it, and a run in flight
// when it shipped schedules its next Genesys calls on the paced queue too.
// A GetVersion would cost every remediation a billable action, the SDK's
// TemporalChangeVersion upsert: the happy refund would go from 4 to 5.
func (r *run) genesysActivityOptions(ctx workflow.Context, summary string) workflow.ActivityOptions {
	o := r.settings.genesysOptions(summary)
	o.TaskQueue = GenesysTaskQueue(workflow.GetInfo(ctx).TaskQueueName)
	return o
}
