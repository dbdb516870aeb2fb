package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/metricnames"
	"github.com/refundflow/refundflow/internal/metrics"
	"github.com/refundflow/refundflow/internal/remediation"
)

// starterMetrics is what the starter records; a nil one records nothing,
// so tests and a starter without REFUNDFLOW_METRICS_ADDRESS need none.
type starterMetrics struct {
	responses      metric.Int64Counter
	duration       metric.Float64Histogram
	started        metric.Int64Counter
	cardRejections metric.Int64Counter
	pollFailures   metric.Int64Counter
	// reviews is the review queue as the last visibility poll saw it.
	reviews *reviewQueue
}

// routeUnmatched is the route label of a request no route took (404, 405).
const routeUnmatched = "unmatched"

func newStarterMetrics(m metric.Meter) (*starterMetrics, error) {
	sm := &starterMetrics{reviews: &reviewQueue{}}
	var errs [8]error
	sm.responses, errs[0] = m.Int64Counter(metricnames.HTTPResponses,
		metric.WithDescription("answers of the starter's HTTP API, by route (the mux pattern) and status code"))
	sm.duration, errs[1] = m.Float64Histogram(metricnames.HTTPRequestDuration, metric.WithUnit("s"),
		metric.WithDescription("time to answer a request of the starter's HTTP API, by route"))
	sm.started, errs[2] = m.Int64Counter(metricnames.RemediationsStarted,
		metric.WithDescription("remediation workflows started by a disposition (not duplicates), by action"))
	sm.cardRejections, errs[3] = m.Int64Counter(metricnames.CardDataRejections,
		metric.WithDescription("requests refused with 422 because they held cardholder data, by route"))
	sm.pollFailures, errs[4] = m.Int64Counter(metricnames.ReviewPollFailures,
		metric.WithDescription("failed visibility polls of the review queue; the review gauges keep their last values"))
	_, errs[5] = m.Int64ObservableGauge(metricnames.ReviewsWaiting,
		metric.WithDescription("remediations awaiting finance review, from visibility at the last poll"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(sm.reviews.waiting.Load())
			return nil
		}))
	_, errs[6] = m.Float64ObservableGauge(metricnames.ReviewOldestAge, metric.WithUnit("s"),
		metric.WithDescription("age of the oldest remediation awaiting finance review (since its run started), 0 when none waits"),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(sm.reviews.oldestAge(time.Now()).Seconds())
			return nil
		}))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("starter metrics: %w", err)
	}
	// Counters an alert or a rate reads exist at 0 from the start, so the
	// first event is an increase and not a new series.
	ctx := context.Background()
	for _, a := range []remediation.Action{remediation.ActionRefund, remediation.ActionChargeback, remediation.ActionReview} {
		sm.started.Add(ctx, 0, metric.WithAttributes(attribute.String(metricnames.LabelAction, string(a))))
	}
	sm.cardRejections.Add(ctx, 0, metric.WithAttributes(attribute.String(metricnames.LabelRoute, "POST /v1/dispositions")))
	sm.pollFailures.Add(ctx, 0)
	return sm, nil
}

// answered records one answer of the HTTP API.
func (sm *starterMetrics) answered(route string, status int, took time.Duration, cardRejected bool) {
	if sm == nil {
		return
	}
	if route == "" {
		route = routeUnmatched
	}
	ctx := context.Background()
	routeAttr := attribute.String(metricnames.LabelRoute, route)
	sm.responses.Add(ctx, 1, metric.WithAttributes(routeAttr, attribute.String(metricnames.LabelCode, strconv.Itoa(status))))
	sm.duration.Record(ctx, took.Seconds(), metric.WithAttributes(routeAttr))
	if cardRejected {
		sm.cardRejections.Add(ctx, 1, metric.WithAttributes(routeAttr))
	}
}

// remediationStarted counts a new workflow (not a duplicate).
func (sm *starterMetrics) remediationStarted(action remediation.Action) {
	if sm == nil {
		return
	}
	sm.started.Add(context.Background(), 1, metric.WithAttributes(attribute.String(metricnames.LabelAction, string(action))))
}

// metricsServer is the starter's /metrics, or nil when metrics are off.
type metricsServer struct{ m *metrics.Metrics }

// serveMetrics starts GET /metrics on addr until ctx ends; an empty addr
// turns metrics off.
func serveMetrics(ctx context.Context, addr string, logger *slog.Logger) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	m, err := metrics.New(logger)
	if err != nil {
		return nil, err
	}
	bound, served, err := m.Serve(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("REFUNDFLOW_METRICS_ADDRESS: %w", err)
	}
	go func() {
		if err := <-served; err != nil {
			logger.Error("metrics server stopped", "error", err)
		}
	}()
	logger.Info("metrics listening", "address", bound.String(), "path", "/metrics")
	return &metricsServer{m: m}, nil
}

func (ms *metricsServer) sdkHandler() client.MetricsHandler {
	if ms == nil {
		return nil
	}
	return ms.m.SDKHandler()
}

func (ms *metricsServer) starterMetrics() (*starterMetrics, error) {
	if ms == nil {
		return nil, nil
	}
	return newStarterMetrics(ms.m.Meter())
}
