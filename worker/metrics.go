package main

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/metricnames"
	"github.com/refundflow/refundflow/internal/metrics"
	"github.com/refundflow/refundflow/internal/remediation"
)

// workerMetrics is what the worker records when REFUNDFLOW_METRICS_ADDRESS
// is set; its zero value (metrics off) records nothing.
type workerMetrics struct {
	sdk   client.MetricsHandler
	calls *activities.CallMetrics
}

// serveMetrics starts GET /metrics on addr until ctx ends: the Temporal
// SDK's metrics, what the workflows record, and the gateway and Genesys
// calls. An empty addr turns metrics off.
func serveMetrics(ctx context.Context, addr string, logger *slog.Logger) (workerMetrics, error) {
	if addr == "" {
		return workerMetrics{}, nil
	}
	m, err := metrics.New(logger)
	if err != nil {
		return workerMetrics{}, err
	}
	calls, err := activities.NewCallMetrics(m.Meter())
	if err != nil {
		return workerMetrics{}, err
	}
	bound, served, err := m.Serve(ctx, addr)
	if err != nil {
		return workerMetrics{}, fmt.Errorf("REFUNDFLOW_METRICS_ADDRESS: %w", err)
	}
	go func() {
		if err := <-served; err != nil {
			logger.Error("metrics server stopped", "error", err)
		}
	}()
	logger.Info("metrics listening", "address", bound.String(), "path", "/metrics")
	sdk := m.SDKHandler()
	// An escalation that cannot be delivered pages someone: its counter
	// exists at 0 from the start, so the first failure is an increase.
	for _, action := range []remediation.Action{remediation.ActionRefund, remediation.ActionChargeback, remediation.ActionReview} {
		sdk.WithTags(map[string]string{metricnames.LabelAction: string(action)}).Counter(metricnames.EscalationsUndelivered).Inc(0)
	}
	return workerMetrics{sdk: sdk, calls: calls}, nil
}
