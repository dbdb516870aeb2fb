package activities

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/metricnames"
	"github.com/refundflow/refundflow/internal/metrics"
)

func TestCallMetricsClassifyEveryExchange(t *testing.T) {
	t.Parallel()
	m, err := metrics.New(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := NewCallMetrics(m.Meter())
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]int{"/ok": 201, "/busy": 429, "/down": 503, "/gone": 404, "/late": 408}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(statuses[r.URL.Path])
	}))
	client := calls.instrument(NewHTTPClient(5*time.Second), metricnames.RemoteGenesys)
	for _, path := range []string{"/ok", "/ok", "/busy", "/down", "/gone", "/late"} {
		res, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	srv.Close()
	if _, err := client.Get(srv.URL + "/ok"); err == nil {
		t.Fatal("a closed server answered")
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`refundflow_remote_calls_total{outcome="ok",remote="genesys"} 2`,
		`refundflow_remote_calls_total{outcome="retryable",remote="genesys"} 3`,
		`refundflow_remote_calls_total{outcome="final",remote="genesys"} 1`,
		`refundflow_remote_calls_total{outcome="unanswered",remote="genesys"} 1`,
		`refundflow_remote_call_duration_seconds_count{outcome="retryable",remote="genesys"} 3`,
		`refundflow_remote_rate_limited_total{remote="genesys"} 1`,
		`refundflow_remote_rate_limited_total{remote="gateway"} 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, "127.0.0.1") || strings.Contains(text, "/busy") {
		t.Errorf("a label holds the URL:\n%s", text)
	}
}

type cannedTransport struct{}

func (cannedTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusCreated, Body: http.NoBody}, nil
}

// BenchmarkMeteredTransport is what the metrics add to one HTTP exchange:
// the counter, the latency histogram and the 429 check, around a transport
// that answers at once.
func BenchmarkMeteredTransport(b *testing.B) {
	m, err := metrics.New(slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	calls, err := NewCallMetrics(m.Meter())
	if err != nil {
		b.Fatal(err)
	}
	for name, rt := range map[string]http.RoundTripper{
		"bare":    cannedTransport{},
		"metered": calls.instrument(&http.Client{Transport: cannedTransport{}}, metricnames.RemoteGateway).Transport,
	} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "http://gateway.invalid/refunds", nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rt.RoundTrip(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
