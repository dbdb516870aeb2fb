package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/refundflow/refundflow/internal/metricnames"
)

// CallMetrics counts the worker's HTTP calls to the gateway and to Genesys
// (token requests included) by outcome class, times them, and counts the
// 429s. It sits on the transport, so every call of every client built on
// it is seen once, however the caller reads the answer. A nil *CallMetrics
// records nothing.
type CallMetrics struct {
	calls       metric.Int64Counter
	duration    metric.Float64Histogram
	rateLimited metric.Int64Counter
}

// NewCallMetrics makes the instruments on m, and sets the 429 counters of
// both remotes to 0 so that the first 429 is an increase an alert sees.
func NewCallMetrics(m metric.Meter) (*CallMetrics, error) {
	calls, err1 := m.Int64Counter(metricnames.RemoteCalls,
		metric.WithDescription("HTTP calls to the gateway and Genesys, by remote and outcome class (ok, retryable, final, unanswered)"))
	duration, err2 := m.Float64Histogram(metricnames.RemoteCallDuration, metric.WithUnit("s"),
		metric.WithDescription("latency of HTTP calls to the gateway and Genesys, by remote and outcome class"))
	limited, err3 := m.Int64Counter(metricnames.RemoteRateLimited,
		metric.WithDescription("429 Too Many Requests answers from the gateway and Genesys, by remote"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("call metrics: %w", err)
	}
	for _, remote := range []string{metricnames.RemoteGateway, metricnames.RemoteGenesys} {
		limited.Add(context.Background(), 0, metric.WithAttributes(attribute.String(metricnames.LabelRemote, remote)))
	}
	return &CallMetrics{calls: calls, duration: duration, rateLimited: limited}, nil
}

// instrument makes c's transport record each exchange under remote
// (metricnames.RemoteGateway or RemoteGenesys). It changes c in place:
// main builds one client per remote and hands it to the gateway.
func (cm *CallMetrics) instrument(c *http.Client, remote string) *http.Client {
	if cm == nil {
		return c
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	t := &meteredTransport{next: next, metrics: cm, byOutcome: map[string]metric.MeasurementOption{},
		remote: metric.WithAttributes(attribute.String(metricnames.LabelRemote, remote))}
	for _, outcome := range []string{metricnames.CallOK, metricnames.CallRetryable, metricnames.CallFinal, metricnames.CallUnanswered} {
		t.byOutcome[outcome] = metric.WithAttributeSet(attribute.NewSet(
			attribute.String(metricnames.LabelRemote, remote), attribute.String(metricnames.LabelOutcome, outcome)))
	}
	c.Transport = t
	return c
}

type meteredTransport struct {
	next    http.RoundTripper
	metrics *CallMetrics
	// The label sets, made once: a record then allocates little.
	remote    metric.MeasurementOption
	byOutcome map[string]metric.MeasurementOption
}

// RoundTrip times the exchange up to the answer's headers: the body is read
// by the caller, and a slow body is the caller's timeout to report.
func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.next.RoundTrip(req)
	outcome := metricnames.CallUnanswered
	if err == nil {
		outcome = callOutcome(res.StatusCode)
	}
	ctx := context.WithoutCancel(req.Context())
	attrs := t.byOutcome[outcome]
	t.metrics.calls.Add(ctx, 1, attrs)
	t.metrics.duration.Record(ctx, time.Since(start).Seconds(), attrs)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		t.metrics.rateLimited.Add(ctx, 1, t.remote)
	}
	return res, err
}

// callOutcome is the contract's class of an HTTP status (section 4), by
// the rule classifyStatus applies (retryableStatus), without the body it
// also reads.
func callOutcome(status int) string {
	switch {
	case status < 400:
		return metricnames.CallOK
	case retryableStatus(status):
		return metricnames.CallRetryable
	default:
		return metricnames.CallFinal
	}
}
