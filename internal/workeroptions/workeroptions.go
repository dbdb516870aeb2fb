// Package workeroptions turns the worker's tuning settings into
// worker.Options. It is shared so that the benchmark's bare-Temporal worker
// runs with exactly the options the refundflow worker runs with: a
// comparison is only fair if nothing but the workflow differs.
package workeroptions

import (
	"time"

	"go.temporal.io/sdk/worker"
)

// Tuning is embedded in the worker's config; the variables keep their names
// (REFUNDFLOW_WORKER_*). The defaults suit one worker on two cores.
type Tuning struct {
	WorkflowPollers  int `envconfig:"WORKER_WORKFLOW_POLLERS" default:"4" desc:"concurrent workflow task pollers"`
	ActivityPollers  int `envconfig:"WORKER_ACTIVITY_POLLERS" default:"8" desc:"concurrent activity task pollers"`
	MaxActivities    int `envconfig:"WORKER_MAX_ACTIVITIES" default:"200" desc:"activities run at once (HTTP calls in flight)"`
	MaxWorkflowTasks int `envconfig:"WORKER_MAX_WORKFLOW_TASKS" default:"200" desc:"workflow tasks run at once"`
}

// Options are the worker options for this tuning. stopTimeout is how long
// a stopping worker lets in-flight activities finish.
func (t Tuning) Options(stopTimeout time.Duration) worker.Options {
	return worker.Options{
		MaxConcurrentWorkflowTaskPollers:       t.WorkflowPollers,
		MaxConcurrentActivityTaskPollers:       t.ActivityPollers,
		MaxConcurrentActivityExecutionSize:     t.MaxActivities,
		MaxConcurrentWorkflowTaskExecutionSize: t.MaxWorkflowTasks,
		// Lets the server hand this worker the activity a workflow task has
		// just scheduled, saving a poll round trip per step. It takes
		// effect only where the server allows it
		// (system.enableActivityEagerExecution, off by default).
		DisableEagerActivities: false,
		// Activities heartbeat while they run (timeout 10s, workflows/
		// options.go); the SDK would hold heartbeats back for up to 80% of
		// that, leaving 2s of slack on a busy machine. 4s leaves 6s.
		MaxHeartbeatThrottleInterval: 4 * time.Second,
		WorkerStopTimeout:            stopTimeout,
	}
}
