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
// The version is asked once per run, before its first Genesys activity:
// runs recorded before it schedule every Genesys activity on the
// workflow's own queue, which the worker still serves unpaced.
func (r *run) genesysActivityOptions(ctx workflow.Context, summary string) workflow.ActivityOptions {
	o := r.settings.genesysOptions(summary)
	if r.pacedGenesys == nil {
		paced := workflow.GetVersion(ctx, pacedGenesysQueue, workflow.DefaultVersion, 1) >= 1
		r.pacedGenesys = &paced
	}
	if *r.pacedGenesys {
		o.TaskQueue = GenesysTaskQueue(workflow.GetInfo(ctx).TaskQueueName)
	}
	return o
}
