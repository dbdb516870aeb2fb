package sandbox

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The sabotage knob makes the sandbox the gateway the chaos run must catch:
// a repeated key creates a second refund, and the summary says so.
func TestIgnoreIdempotencyKeyCreatesEveryTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.IgnoreIdempotencyKey = true })
	tok := h.token(testClient, testSecret)
	first := h.refund(tok, "D1:refund", refundBody("D1", "5.00"))
	second := h.refund(tok, "D1:refund", refundBody("D1", "5.00"))
	if first.status != http.StatusCreated || second.status != http.StatusCreated {
		t.Fatalf("statuses %d, %d", first.status, second.status)
	}
	if first.body["refundId"] == second.body["refundId"] || second.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the second call was replayed: %s vs %s", first.raw, second.raw)
	}
	if v := h.txn("D1"); v.RefundsCreated != 2 {
		t.Fatalf("refunds created = %d, want 2", v.RefundsCreated)
	}
	var l LedgerView
	_ = json.Unmarshal([]byte(h.do(http.MethodGet, "/sandbox/ledger", nil, "").raw), &l)
	if len(l.Summary.MultipleCreations) != 1 {
		t.Fatalf("summary should flag D1: %+v", l.Summary)
	}
}

// A Genesys outage answers 503 before doing anything, except a workitem
// creation, which is stored and then answered 504: the caller's lookup
// finds it.
func TestGenesysFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.GenesysFault5xx = 1 })
	tok := h.token("sandbox-genesys", "sandbox-genesys-secret")
	auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	attrs := `{"attributes":{"refundStatus":"Completed","refundTransactionId":"GF1"}}`
	if r := h.do(http.MethodPatch, "/api/v2/conversations/calls/c/participants/p/attributes", auth, attrs); r.status != http.StatusServiceUnavailable {
		t.Fatalf("attributes: %d %s", r.status, r.raw)
	}
	create := `{"name":"Refund review GF1","typeId":"7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c","description":"x","priority":5,"externalTag":"GF1"}`
	if r := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems", auth, create); r.status != http.StatusGatewayTimeout {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	v := h.txn("GF1")
	if len(v.AttributeWrites) != 0 || len(v.Workitems) != 1 {
		t.Fatalf("ledger: %d attribute writes, %d workitems; want 0 and 1", len(v.AttributeWrites), len(v.Workitems))
	}
	if _, err := New(Config{Clients: "a:b", TokenTTL: 1, GenesysFault5xx: 2}, nil); err == nil {
		t.Error("a Genesys fault rate above 1 was accepted")
	}
}

func TestGetWorkitem(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tok := h.token("sandbox-genesys", "sandbox-genesys-secret")
	auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	created := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems", auth,
		`{"name":"Refund review W1","typeId":"7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c","description":"why","priority":5,"externalTag":"W1"}`)
	id, _ := created.body["id"].(string)
	if id == "" {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	if r := h.do(http.MethodGet, "/api/v2/taskmanagement/workitems/"+id, auth, ""); r.status != http.StatusOK || r.body["description"] != "why" || r.body["externalTag"] != "W1" {
		t.Fatalf("get: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodGet, "/api/v2/taskmanagement/workitems/nope", auth, ""); r.status != http.StatusNotFound {
		t.Fatalf("get unknown: %d", r.status)
	}
	if r := h.do(http.MethodGet, "/api/v2/taskmanagement/workitems/"+id, nil, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("get without token: %d", r.status)
	}
}
