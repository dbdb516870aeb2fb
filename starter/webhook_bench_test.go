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
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

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
	handler := newServer(st, nil, logging.New(io.Discard, "info", "starter")).routes()
	body := bytes.Replace(benchBody, []byte("Refund_Processed"), []byte("Issue_Resolved"), 1)
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
}
