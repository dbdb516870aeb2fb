package logging

import (
	"io"
	"testing"
)

// BenchmarkRedactedLine is the cost of one log line as the starter writes
// per request and the worker per gateway call: every line goes through the
// redacting handler, which scans each value for secrets and card numbers.
func BenchmarkRedactedLine(b *testing.B) {
	log := New(io.Discard, "info", "bench")
	b.ReportAllocs()
	for b.Loop() {
		log.Info("request", "method", "POST", "path", "/v1/dispositions", "status", 202,
			"duration_ms", 12.5, "transactionId", "txn-2024-000123")
	}
}
