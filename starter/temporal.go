package main

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/refundflow/refundflow/internal/temporalclient"
)

// newTemporalClient builds the starter's client without connecting: the
// starter must come up while Temporal is down, so that /healthz answers and
// the webhook says 503 (Genesys retries) instead of the process crash-looping.
// Every call connects on demand and is bounded by the request's deadline.
func newTemporalClient(cfg temporalclient.Config, logger *slog.Logger) (client.Client, error) {
	return newMeteredTemporalClient(cfg, logger, nil)
}

// newMeteredTemporalClient is newTemporalClient with the SDK's client
// metrics (requests, failures, latencies) in sdkMetrics; nil records none.
func newMeteredTemporalClient(cfg temporalclient.Config, logger *slog.Logger, sdkMetrics client.MetricsHandler) (client.Client, error) {
	opts, err := cfg.Options(logger)
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = sdkMetrics
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
		grpc.WithChainUnaryInterceptor(recordStartInterceptor))
	return client.NewLazyClient(opts)
}
