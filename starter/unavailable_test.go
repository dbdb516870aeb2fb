package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/testenv"
)

// TestTemporalDown points the handler at an address nothing listens on:
// the API answers 503 with Retry-After and a JSON error, quickly, and the
// liveness probe stays green.
func TestTemporalDown(t *testing.T) {
	t.Parallel()
	api := newAPIServer(t, testenv.FreeAddr(t), "nowhere", 500*time.Millisecond)
	begin := time.Now()

	if resp := api.request(http.MethodGet, "/healthz", "", nil); resp.code != http.StatusOK || resp.str("status") != "ok" {
		t.Errorf("healthz: %d %s", resp.code, resp.raw)
	}
	if resp := api.request(http.MethodGet, "/readyz", "", nil); resp.code != http.StatusServiceUnavailable {
		t.Errorf("readyz: %d %s", resp.code, resp.raw)
	}
	check := func(name string, resp response) {
		t.Helper()
		if resp.code != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || resp.str("error") == "" {
			t.Errorf("%s: %d %v %s", name, resp.code, resp.header, resp.raw)
		}
	}
	check("disposition", api.postDisposition(dispositionBody(txnID("down"), "Refund_Processed", "1.00")))
	check("disposition with an invalid amount", api.postDisposition(dispositionBody(txnID("down"), "Refund_Processed", "x")))
	check("status", api.status(txnID("down"), aliceToken))
	check("decision", api.decide(txnID("down"), aliceToken, map[string]any{"decision": "approve"}))

	// What does not need Temporal still answers as usual.
	if resp := api.postDisposition(dispositionBody(txnID("down"), "Issue_Resolved", "1.00")); resp.code != http.StatusOK {
		t.Errorf("ignored: %d %s", resp.code, resp.raw)
	}
	if resp := api.postDisposition(`{"transactionId":"t","dispositionCode":"Refund_Processed","cvv":"1"}`); resp.code != http.StatusUnprocessableEntity {
		t.Errorf("422: %d %s", resp.code, resp.raw)
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %s", elapsed)
	}
}
