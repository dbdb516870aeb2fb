package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/logging"
	"github.com/refundflow/refundflow/internal/metrics"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

// benchBody is a Genesys body with every field set, as the Data Action sends it.
var benchBody = []byte(`{"transactionId":"txn-2024-000123","dispositionCode":"Refund_Processed","customerTokenId":"tok_visa_1234","customerId":"cus_987654","refundAmount":"49.99","currency":"USD","conversationId":"8a6e3c0e-3f4b-4b8e-9a52-6a1f2f7e9d11","participantId":"0d4b7c2a-9e1f-4d55-8a33-2c6f0b1e7a90","communicationId":"f1e2d3c4-b5a6-4789-8abc-def012345678","agentId":"5b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","queueId":"c0ffee00-1234-4567-89ab-cdef01234567","timestamp":"2024-05-27T10:55:00Z"}`)

// BenchmarkWebhookBeforeTemporal is the starter's own CPU per webhook, the
// whole handler up to the Temporal call: access log, auth, body limit,
// cardholder-data screen, decoding and the JSON answer. A non-financial
// disposition stops just before Temporal, so no server is needed and the
// figure is the starter's alone.
func BenchmarkWebhookBeforeTemporal(b *testing.B) {
	cfg := Config{
		Config:          temporalclient.Config{TaskQueue: "bench"},
		WebhookTokens:   []string{webhookToken},
		Dispositions:    remediation.DefaultDispositions,
		DefaultCurrency: "USD",
		StartTimeout:    5 * time.Second,
	}
	st, err := cfg.parse()
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Replace(benchBody, []byte("Refund_Processed"), []byte("Issue_Resolved"), 1)
	// With metrics on, each answer also adds to the route's counter and
	// latency histogram: the difference is their cost.
	for _, withMetrics := range []bool{false, true} {
		b.Run(map[bool]string{false: "metrics=off", true: "metrics=on"}[withMetrics], func(b *testing.B) {
			srv := newServer(st, nil, logging.New(io.Discard, "info", "starter"))
			if withMetrics {
				m, err := metrics.New(logging.New(io.Discard, "info", "starter"))
				if err != nil {
					b.Fatal(err)
				}
				if srv.metrics, err = newStarterMetrics(m.Meter()); err != nil {
					b.Fatal(err)
				}
			}
			handler := srv.routes()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/dispositions", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+webhookToken)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ignored"`) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
