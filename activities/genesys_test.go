package activities

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
)

func interactionUpdate() InteractionUpdate {
	return InteractionUpdate{
		ConversationID:   "conv-1",
		ParticipantID:    "part-1",
		TransactionID:    "T1",
		RefundStatus:     remediation.RefundStatusCompleted,
		GatewayReference: "re_3Abc",
	}
}

const attributesPath = "/api/v2/conversations/calls/conv-1/participants/part-1/attributes"

func TestGenesysWritesTheOutcomeAttributes(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	if err := c.UpdateAttributes(t.Context(), interactionUpdate()); err != nil {
		t.Fatal(err)
	}
	reqs := g.reqs.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPatch || r.path != attributesPath {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	wantHeader(t, r, "Authorization", "Bearer "+token(1))
	wantHeader(t, r, "Content-Type", "application/json")
	want := `{"attributes":{"refundStatus":"Completed","refundReference":"re_3Abc","refundTransactionId":"T1"}}`
	if r.body != want {
		t.Errorf("body\n got %s\nwant %s", r.body, want)
	}
	// The token came from the login base, with Basic auth (checked there).
	if g.oauth.fetches.Load() != 1 {
		t.Errorf("%d token fetches", g.oauth.fetches.Load())
	}
}

func TestGenesysAttributesWithoutAReference(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	u := interactionUpdate()
	u.RefundStatus, u.GatewayReference = remediation.RefundStatusFailedReview, ""
	if err := c.UpdateAttributes(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	want := `{"attributes":{"refundStatus":"Refund_Failed_Manual_Review","refundReference":"","refundTransactionId":"T1"}}`
	if got := g.reqs.all()[0].body; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestGenesysLoginURLIsDerivedFromTheAPIURL(t *testing.T) {
	t.Parallel()
	for api, want := range map[string]string{
		"https://api.mypurecloud.com":     "https://login.mypurecloud.com",
		"https://api.mypurecloud.de/":     "https://login.mypurecloud.de",
		"https://api.euw2.pure.cloud/x/y": "https://login.euw2.pure.cloud",
	} {
		got, err := GenesysConfig{APIURL: api}.LoginBase()
		if err != nil || got != want {
			t.Errorf("LoginBase(%s) = %q, %v; want %s", api, got, err, want)
		}
	}
	// Nothing to turn into login.: the API URL is the login base too (a
	// stand-in for Genesys serving both), and the client says so.
	for _, api := range []string{"http://127.0.0.1:9", "http://localhost:9/"} {
		cfg := GenesysConfig{APIURL: api}
		if got, err := cfg.LoginBase(); err != nil || got != strings.TrimRight(api, "/") || !cfg.LoginFromAPIURL() {
			t.Errorf("LoginBase(%s) = %q, %v (from the API URL: %v); want the API URL itself", api, got, err, cfg.LoginFromAPIURL())
		}
	}
	if (GenesysConfig{APIURL: "http://127.0.0.1:9", LoginURL: "http://127.0.0.1:8"}).LoginFromAPIURL() {
		t.Error("a configured login URL is not the API URL")
	}
	if _, err := (GenesysConfig{APIURL: "not a url"}).LoginBase(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_LOGIN_URL") {
		t.Errorf("a relative API URL must ask for an absolute one, got %v", err)
	}
}

// A stand-in for Genesys on localhost, configured with the API URL only,
// serves the token and the calls: the worker must not refuse to start.
func TestGenesysWithoutLoginURLLogsInAtTheAPIURL(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	cfg := g.config()
	cfg.LoginURL = ""
	c, logs := g.client(cfg)
	if !strings.Contains(logs.String(), "tokens are fetched from the API URL") {
		t.Errorf("no warning that the login URL was not derived; logs:\n%s", logs.String())
	}
	w := FailedWrapup{ConversationID: "conv-1", ParticipantID: "part-1", CommunicationID: "comm-1", TransactionID: "T1", Notes: "n"}
	if err := c.SetWrapup(t.Context(), w); err != nil {
		t.Fatalf("wrap-up through the API URL's token: %v", err)
	}
}

func TestGenesysWrapup(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	w := FailedWrapup{ConversationID: "conv-1", ParticipantID: "part-1", CommunicationID: "comm-1", TransactionID: "T1", Notes: "Refund failed, sent to finance review: gateway answered 422"}
	if err := c.SetWrapup(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	r := g.reqs.all()[0]
	if r.method != http.MethodPost || r.path != "/api/v2/conversations/calls/conv-1/participants/part-1/communications/comm-1/wrapup" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	want := `{"code":"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b","notes":"Refund failed, sent to finance review: gateway answered 422"}`
	if r.body != want {
		t.Errorf("body\n got %s\nwant %s", r.body, want)
	}
}

func TestGenesysWrapupAfterACWIsFinal(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	g.setAnswer("POST /api/v2/conversations/calls/{conv}/participants/{part}/communications/{comm}/wrapup", func(w http.ResponseWriter, _ *http.Request) bool {
		writeJSON(w, 400, map[string]any{"message": "Wrapup code cannot be set; communication is not in after-call work", "code": "bad.request"})
		return true
	})
	c, _ := g.client(g.config())
	err := c.SetWrapup(t.Context(), FailedWrapup{ConversationID: "conv-1", ParticipantID: "part-1", CommunicationID: "comm-1", TransactionID: "T1"})
	ae := wantFinal(t, err, ErrGenesysRejected)
	if !strings.Contains(ae.Message(), "400") || !strings.Contains(ae.Message(), "after-call work") {
		t.Errorf("message = %q", ae.Message())
	}
}

func TestGenesysWrapupWithoutACodeDoesNothing(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	cfg := g.config()
	cfg.FailedWrapupCodeID = ""
	c, _ := g.client(cfg)
	if err := c.SetWrapup(t.Context(), FailedWrapup{ConversationID: "conv-1", ParticipantID: "part-1", CommunicationID: "comm-1"}); err != nil {
		t.Fatal(err)
	}
	if n := len(g.reqs.all()); n != 0 {
		t.Errorf("%d requests without a wrap-up code configured", n)
	}
}

func TestGenesysErrorClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status  int
		header  string
		errType ErrorType
		final   bool
		delay   time.Duration
	}{
		{429, "11", ErrGenesysUnavailable, false, 11 * time.Second},
		{503, "", ErrGenesysUnavailable, false, 0},
		{500, "", ErrGenesysUnavailable, false, 0},
		{404, "", ErrGenesysRejected, true, 0},
		{403, "", ErrGenesysRejected, true, 0},
	} {
		g := newFakeGenesys(t)
		g.setAnswer("PATCH /api/v2/conversations/calls/{conv}/participants/{part}/attributes", func(w http.ResponseWriter, _ *http.Request) bool {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			writeJSON(w, tc.status, map[string]any{"message": fmt.Sprintf("status %d", tc.status)})
			return true
		})
		c, _ := g.client(g.config())
		err := c.UpdateAttributes(t.Context(), interactionUpdate())
		if tc.final {
			wantFinal(t, err, tc.errType)
		} else {
			wantRetryable(t, err, tc.errType, tc.delay)
		}
		if !strings.HasPrefix(err.Error(), "write refundStatus Completed for T1: Genesys answered") {
			t.Errorf("error = %q", err)
		}
	}
}

func TestGenesys401RenewsTheTokenOnce(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	var calls atomic.Int32
	g.setAnswer("PATCH /api/v2/conversations/calls/{conv}/participants/{part}/attributes", func(w http.ResponseWriter, r *http.Request) bool {
		if calls.Add(1) == 1 {
			w.WriteHeader(401)
			return true
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+token(2) {
			t.Errorf("retry carried %q", got)
		}
		return false
	})
	c, logs := g.client(g.config())
	if err := c.UpdateAttributes(t.Context(), interactionUpdate()); err != nil {
		t.Fatal(err)
	}
	if n := g.oauth.fetches.Load(); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
	// And a second 401 is final.
	g.setAnswer("PATCH /api/v2/conversations/calls/{conv}/participants/{part}/attributes", func(w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(401)
		return true
	})
	err := c.UpdateAttributes(t.Context(), interactionUpdate())
	wantFinal(t, err, ErrAuthFailed)
	noSecrets(t, "error", err.Error())
	noSecrets(t, "logs", logs.String())
}

func TestGenesysRefusesMissingIDs(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	u := interactionUpdate()
	u.ParticipantID = ""
	wantFinal(t, c.UpdateAttributes(t.Context(), u), ErrInvalidRequest)
	wantFinal(t, c.SetWrapup(t.Context(), FailedWrapup{ConversationID: "conv-1"}), ErrInvalidRequest)
	if n := len(g.reqs.all()); n != 0 {
		t.Errorf("%d requests", n)
	}
}
