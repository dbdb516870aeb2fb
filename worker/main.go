// Command worker runs RemediationWorkflow and its activities on the
// refund-remediation task queue.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.temporal.io/sdk/worker"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/temporalclient"
	"github.com/refundflow/refundflow/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg Config
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		printUsage(&cfg)
		return nil
	}
	if err := loadConfig(&cfg); err != nil {
		printUsage(&cfg)
		return err
	}
	logger := logging.New(os.Stderr, cfg.LogLevel, "worker")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mx, err := serveMetrics(ctx, cfg.MetricsAddress, logger)
	if err != nil {
		return err
	}

	acts, err := activities.NewWithMetrics(cfg.GatewayConfig, cfg.GenesysConfig, logger, mx.calls)
	if err != nil {
		return fmt.Errorf("build activities: %w", err)
	}

	opts, err := cfg.Config.Options(logger)
	if err != nil {
		return err
	}
	opts.MetricsHandler = mx.sdk
	c, err := temporalclient.DialWithRetry(ctx, opts, logger)
	if err != nil {
		return err
	}
	defer c.Close()

	// Finish in-flight HTTP calls on SIGTERM; anything longer is retried
	// elsewhere with the same Idempotency-Key.
	w := worker.New(c, cfg.TaskQueue, cfg.Tuning.Options(cfg.GatewayConfig.Timeout+5*time.Second))
	(&workflows.Remediation{Settings: cfg.settings()}).Register(w)
	w.RegisterActivity(acts)

	genesysWorker := newGenesysWorker(c, cfg.TaskQueue, cfg.GenesysPacing, cfg.Tuning, acts, cfg.GenesysConfig.Timeout+5*time.Second, logger)

	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if err := genesysWorker.Start(); err != nil {
		w.Stop()
		return fmt.Errorf("start the Genesys worker: %w", err)
	}
	logger.Info("worker ready", "task_queue", cfg.TaskQueue, "namespace", cfg.Namespace, "temporal", cfg.Address,
		"gateway", cfg.Kind, "retry_window", cfg.RetryWindow.String(), "review_reminder", cfg.ReviewReminder.String())
	<-ctx.Done()
	logger.Info("worker stopping: finishing in-flight tasks")
	genesysWorker.Stop()
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

func loadConfig(cfg *Config) error {
	if err := envconfig.Process("refundflow", cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return errors.Join(cfg.GatewayConfig.Validate(), cfg.GenesysConfig.Validate(), cfg.validateSettlement(), cfg.GenesysPacing.validate())
}

func printUsage(cfg *Config) {
	tw := tabwriter.NewWriter(os.Stderr, 1, 0, 2, ' ', 0)
	_ = envconfig.Usagef("refundflow", cfg, tw, envconfig.DefaultTableFormat)
	_ = tw.Flush()
}
