package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/internal/workeroptions"
	"github.com/refundflow/refundflow/workflows"
)

// Names of the baseline's workflow and activities.
const (
	bareWorkflowType  = "BareWorkflow"
	bareSubmitType    = "BareSubmit"
	bareWriteBackType = "BareWriteBack"
)

// bareWorkerConfig is read from the same REFUNDFLOW_* variables as the
// refundflow worker's, so both dial Temporal and poll with one setting.
type bareWorkerConfig struct {
	temporalclient.Config
	workeroptions.Tuning
	LogLevel string `envconfig:"LOG_LEVEL" default:"info"`
}

// runBareWorker is -role=bare-worker: the baseline's worker, until SIGTERM.
func runBareWorker(ctx context.Context, logw io.Writer) error {
	var cfg bareWorkerConfig
	if err := envconfig.Process("refundflow", &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := logging.New(logw, cfg.LogLevel, "bare-worker")
	opts, err := cfg.Config.Options(logger)
	if err != nil {
		return err
	}
	c, err := temporalclient.DialWithRetry(ctx, opts, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, cfg.TaskQueue, cfg.Tuning.Options(20*time.Second))
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: bareWorkflowType})
	w.RegisterActivityWithOptions(bareSubmit, activity.RegisterOptions{Name: bareSubmitType})
	w.RegisterActivityWithOptions(bareWriteBack, activity.RegisterOptions{Name: bareWriteBackType})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start bare worker: %w", err)
	}
	logger.Info("worker ready", "task_queue", cfg.TaskQueue)
	<-ctx.Done()
	w.Stop()
	return nil
}

// bareWorkflow is what a user would write by hand for the same job, with
// the history of a happy refund: 18 events, 4 billable actions (the start,
// two activities, one upsert). It takes and returns what ours does, so the
// payloads Temporal stores are of the same size.
func bareWorkflow(ctx workflow.Context, d remediation.Disposition) (remediation.Outcome, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var result activities.SubmissionResult
	if err := workflow.ExecuteActivity(ctx, bareSubmitType, d).Get(ctx, &result); err != nil {
		return remediation.Outcome{}, fmt.Errorf("bare submit %s: %w", d.TransactionID, err)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.StateKey.ValueSet(string(remediation.StateCompleted))); err != nil {
		return remediation.Outcome{}, fmt.Errorf("bare upsert %s: %w", d.TransactionID, err)
	}
	if err := workflow.ExecuteActivity(ctx, bareWriteBackType, d).Get(ctx, nil); err != nil {
		return remediation.Outcome{}, fmt.Errorf("bare write-back %s: %w", d.TransactionID, err)
	}
	return remediation.Outcome{
		State: remediation.StateCompleted, Action: d.Action, TransactionID: d.TransactionID,
		AmountMinor: d.AmountMinor, Currency: d.Currency, Attempts: 1,
		GatewayReference: result.GatewayReference, Decisions: []remediation.DecisionRecord{},
	}, nil
}

// bareSubmit stands in for the gateway call and does nothing.
func bareSubmit(_ context.Context, d remediation.Disposition) (activities.SubmissionResult, error) {
	return activities.SubmissionResult{GatewayReference: "bare-" + d.TransactionID, HTTPStatus: 201}, nil
}

// bareWriteBack stands in for the Genesys write-back and does nothing.
func bareWriteBack(context.Context, remediation.Disposition) error { return nil }
