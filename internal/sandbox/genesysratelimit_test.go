package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// The limit counts per OAuth client, over any minute, all of its tokens
// together, and answers 429 with the Retry-After that is true.
func TestGenesysRateLimitPerClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.GenesysRateLimit, c.TokenTTL = 3, time.Hour })
	header := func(tok string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
	}
	first, second := h.token("sandbox-genesys", "sandbox-genesys-secret"), h.token("sandbox-genesys", "sandbox-genesys-secret")
	other := h.token(testClient, testSecret)
	statuses := "/api/v2/taskmanagement/worktypes/" + specWorktype + "/statuses"
	for i, tok := range []string{first, second, first} {
		if r := h.do(http.MethodGet, statuses, header(tok), ""); r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, r.status, r.raw)
		}
		h.advance(10 * time.Second)
	}
	limited := h.do(http.MethodGet, statuses, header(second), "")
	if limited.status != http.StatusTooManyRequests || limited.header.Get("Retry-After") != "30" ||
		limited.body["code"] != "too.many.requests" || limited.header.Get("inin-ratelimit-allowed") != "3" {
		t.Fatalf("past the limit: %d Retry-After %q %s", limited.status, limited.header.Get("Retry-After"), limited.raw)
	}
	// Another client has its own budget.
	if r := h.do(http.MethodGet, statuses, header(other), ""); r.status != http.StatusOK {
		t.Fatalf("other client: %d %s", r.status, r.raw)
	}
	// Once the first call is a minute old, one more fits.
	h.advance(31 * time.Second)
	if r := h.do(http.MethodGet, statuses, header(first), ""); r.status != http.StatusOK {
		t.Fatalf("after Retry-After: %d %s", r.status, r.raw)
	}
	if r := h.do(http.MethodGet, statuses, header(first), ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("the window is full again: %d", r.status)
	}
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	if st := h.srv.ledger.Stats; st.GenesysRequests != 7 || st.GenesysRateLimited != 2 {
		t.Errorf("requests %d, rate limited %d", st.GenesysRequests, st.GenesysRateLimited)
	}
}

func TestGenesysRateLimitOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	auth := map[string]string{"Authorization": "Bearer " + h.token("sandbox-genesys", "sandbox-genesys-secret")}
	for i := range 400 {
		if r := h.do(http.MethodGet, "/api/v2/taskmanagement/worktypes/"+specWorktype+"/statuses", auth, ""); r.status != http.StatusOK {
			t.Fatalf("call %d with no limit: %d", i, r.status)
		}
	}
	if _, err := New(Config{Clients: "a:b", TokenTTL: 1, GenesysRateLimit: -1}, nil); err == nil {
		t.Error("a negative limit is accepted")
	}
}
