package main

import (
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/workeroptions"
	"github.com/refundflow/refundflow/workflows"
)

// GenesysPacing keeps every worker's Genesys calls together within the
// rate Genesys allows the OAuth client they share.
type GenesysPacing struct {
	GenesysRateLimit int `envconfig:"GENESYS_RATE_LIMIT" default:"300" desc:"Genesys requests a minute all workers together stay within (Genesys allows about 300 per OAuth client); 0: unpaced"`
}

func (p GenesysPacing) validate() error {
	if p.GenesysRateLimit < 0 {
		return fmt.Errorf("REFUNDFLOW_GENESYS_RATE_LIMIT: must be 0 (unpaced) or more, got %d", p.GenesysRateLimit)
	}
	return nil
}

// activitiesPerSecond is the paced queue's rate: the requests a minute,
// per second, over what one activity is budgeted. The Temporal server
// enforces it per task queue, for all its pollers together: a limiter in
// each worker would let N workers make N times the rate.
func (p GenesysPacing) activitiesPerSecond() float64 {
	return float64(p.GenesysRateLimit) / 60 / activities.GenesysRequestsPerActivity
}

// newGenesysWorker serves the workflows' Genesys activities on their paced
// queue (workflows.GenesysTaskQueue). The main worker keeps serving them
// on the workflow queue too, for runs recorded before the pacing.
func newGenesysWorker(c client.Client, taskQueue string, p GenesysPacing, tuning workeroptions.Tuning, acts *activities.Activities, stopTimeout time.Duration, logger *slog.Logger) worker.Worker {
	opts := tuning.Options(stopTimeout)
	// Only activities run here; eager execution would hand them out past
	// the queue's rate, and only works on the workflow's own queue anyway.
	opts.DisableWorkflowWorker = true
	opts.DisableEagerActivities = true
	if p.GenesysRateLimit > 0 {
		opts.TaskQueueActivitiesPerSecond = p.activitiesPerSecond()
	}
	queue := workflows.GenesysTaskQueue(taskQueue)
	w := worker.New(c, queue, opts)
	activities.RegisterGenesysActivities(w, acts)
	logger.Info("Genesys activities paced", "task_queue", queue, "requests_per_minute", p.GenesysRateLimit,
		"activities_per_second", opts.TaskQueueActivitiesPerSecond, "requests_per_activity", activities.GenesysRequestsPerActivity)
	return w
}
