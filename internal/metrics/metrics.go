// Package metrics builds what a program needs to expose Prometheus metrics:
// an OpenTelemetry MeterProvider whose only reader is the OpenTelemetry
// Prometheus exporter, on a registry of its own, and the /metrics handler
// that serves that registry. Nothing is global: no otel.SetMeterProvider,
// no prometheus.DefaultRegisterer, so tests run several programs' metrics
// side by side in one process.
//
// The Temporal SDK's metrics go through the same provider (SDKHandler), so
// one scrape has both the SDK's temporal_* series and our refundflow_* ones.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/refundflow/refundflow/internal/metricnames"
)

// Latency buckets in seconds, for HTTP calls and the SDK's timers: from a
// local answer (5ms) to a gateway's whole per-call timeout and beyond.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60}

// CompletionBuckets are the seconds from webhook to Completed: seconds when
// the gateway settles at once, minutes to days when it settles later or a
// human decides (1 min, 5 min, 15 min, 1h, 4h, 1d, 3d, 7d, 30d, 50d).
var CompletionBuckets = []float64{1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 259200, 604800, 2592000, 4320000}

// Metrics is one program's meter provider and its Prometheus registry.
type Metrics struct {
	provider *sdkmetric.MeterProvider
	registry *prometheus.Registry
	meter    metric.Meter
	logger   *slog.Logger
}

// New builds the provider. The registry also carries the Go runtime and
// process collectors (go_*, process_*), as any Go program's /metrics does.
func New(logger *slog.Logger) (*Metrics, error) {
	registry := prometheus.NewRegistry()
	registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		// Prometheus adds job and instance itself; the scope and target_info
		// labels would only repeat them on every series.
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(view))
	return &Metrics{provider: provider, registry: registry, meter: provider.Meter("github.com/refundflow/refundflow"), logger: logger}, nil
}

// ourLabels keeps only our own labels on our series. What the workflow
// records through workflow.GetMetricsHandler would otherwise also carry the
// SDK handler's (namespace, task_queue, workflow_type, client_name, ...),
// and then a counter the worker sets to 0 at start (labels: action) and the
// one a workflow adds to would be two series: the first failure would be a
// new series at 1, which increase() does not see.
var ourLabels = func() attribute.Filter {
	keys := make([]attribute.Key, len(metricnames.Labels))
	for i, l := range metricnames.Labels {
		keys[i] = attribute.Key(l)
	}
	return attribute.NewAllowKeysFilter(keys...)
}()

// view shapes every stream: histograms get buckets in their own unit (the
// OpenTelemetry default, 0 to 10000, is made for milliseconds, and every
// histogram here is in seconds), and our series only our labels. One view
// for all, since each matching view would add a stream of its own.
func view(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	ours := strings.HasPrefix(i.Name, metricnames.Prefix)
	histogram := i.Kind == sdkmetric.InstrumentKindHistogram
	if !ours && !histogram {
		return sdkmetric.Stream{}, false
	}
	s := sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit}
	if histogram {
		bounds := latencyBuckets
		if i.Name == metricnames.WebhookToCompleted {
			bounds = CompletionBuckets
		}
		s.Aggregation = sdkmetric.AggregationExplicitBucketHistogram{Boundaries: bounds}
	}
	if ours {
		s.AttributeFilter = ourLabels
	}
	return s, true
}

// Meter is where this program's own instruments are made.
func (m *Metrics) Meter() metric.Meter { return m.meter }

// SDKHandler is the Temporal client's MetricsHandler (client.Options): the
// SDK's metrics, and what workflows record through
// workflow.GetMetricsHandler, on this provider. Counters are monotonic, so
// they are Prometheus counters (_total), not gauges.
func (m *Metrics) SDKHandler() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// A meter error is a programming error in an instrument's name; it
		// must not take the worker down.
		OnError: func(err error) { m.logger.Error("Temporal SDK metric", "error", err) },
	})
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Shutdown stops the provider; later records are dropped.
func (m *Metrics) Shutdown(ctx context.Context) error { return m.provider.Shutdown(ctx) }

// Serve answers GET /metrics on its own listener at addr until ctx ends.
// It is a separate address from any API so that it need not be public:
// the series say how much money moved, not whose.
func (m *Metrics) Serve(ctx context.Context, addr string) (net.Addr, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	return ln.Addr(), done, nil
}
