package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/metricnames"
)

func scrapeText(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// TestSDKHandlerNamesAndBuckets pins what the exporter makes of the SDK's
// instruments, which the alert rules name: a counter is a _total counter,
// a timer a histogram in seconds with our buckets; ours carry only our
// labels; no scope or target_info labels; and two providers share nothing.
func TestSDKHandlerNamesAndBuckets(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(logger)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(logger)
	if err != nil {
		t.Fatal(err)
	}
	h := a.SDKHandler().WithTags(map[string]string{"task_queue": "q"})
	h.Counter("temporal_workflow_task_execution_failed").Inc(2)
	h.Timer("temporal_workflow_task_schedule_to_start_latency").Record(30 * time.Millisecond)
	h.Timer(metricnames.WebhookToCompleted).Record(2 * time.Hour)
	a.SDKHandler().WithTags(map[string]string{metricnames.LabelAction: "refund"}).Counter(metricnames.EscalationsUndelivered).Inc(0)
	h.WithTags(map[string]string{metricnames.LabelAction: "refund", "workflow_type": "RemediationWorkflow"}).Counter(metricnames.EscalationsUndelivered).Inc(1)

	text := scrapeText(t, a)
	for _, want := range []string{
		"# TYPE temporal_workflow_task_execution_failed_total counter\n",
		`temporal_workflow_task_execution_failed_total{task_queue="q"} 2` + "\n",
		"# TYPE temporal_workflow_task_schedule_to_start_latency_seconds histogram\n",
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{task_queue="q",le="0.025"} 0` + "\n",
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{task_queue="q",le="0.05"} 1` + "\n",
		// Ours keep only our labels (the SDK handler's task_queue dropped), so
		// a counter set to 0 at start and one a workflow adds to are one series.
		`refundflow_webhook_to_completed_seconds_bucket{le="3600"} 0` + "\n",
		`refundflow_webhook_to_completed_seconds_bucket{le="14400"} 1` + "\n",
		`refundflow_escalations_undelivered_total{action="refund"} 1` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"otel_scope", "target_info"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("%s in the scrape", unwanted)
		}
	}
	if strings.Contains(scrapeText(t, b), "temporal_workflow_task_execution_failed") {
		t.Error("a second provider sees the first one's series: global state")
	}
}

func TestServeAnswersMetricsOnly(t *testing.T) {
	t.Parallel()
	m, err := New(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/metrics": http.StatusOK, "/": http.StatusNotFound, "/v1/dispositions": http.StatusNotFound} {
		res, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the metrics server did not stop with its context")
	}
}
