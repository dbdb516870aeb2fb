package activities

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
)

const decidingUser = "d1ce0000-0000-4000-8000-0000000000f1"

// sandboxGenesys is the real Genesys client against the sandbox's
// Genesys, which checks every request against the Platform API spec.
func sandboxGenesys(t *testing.T) (*GenesysClient, string) {
	t.Helper()
	srv, err := sandbox.New(sandbox.Config{Clients: "gen:secret", TokenTTL: time.Minute, HangFor: time.Hour, Seed: 1, GenesysRateLimit: 300}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return genesysAt(t, ts.URL, testWorktype), ts.URL
}

// genesysAt is a Genesys client of the sandbox at base, with worktype
// configured.
func genesysAt(t *testing.T, base, worktype string) *GenesysClient {
	t.Helper()
	g, err := NewGenesysClient(GenesysConfig{
		APIURL: base, LoginURL: base, ClientID: "gen", ClientSecret: "secret",
		WorktypeID: worktype, QueueID: testQueue, Timeout: 5 * time.Second,
		DecisionStatuses: "Approved=approve,Rejected=reject,Resolved=resolved",
	}, NewHTTPClient(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// decideInGenesys plays finance ops setting the workitem's status in
// Genesys Workspace.
func decideInGenesys(t *testing.T, base, workitemID, status, user string, fields map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"status": status, "userId": user, "customFields": fields})
	resp, err := http.Post(base+"/sandbox/genesys/workitems/"+workitemID+"/status", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set status %s: %d", status, resp.StatusCode)
	}
}

func TestReadWorkitemDecisionFromGenesys(t *testing.T) {
	t.Parallel()
	g, base := sandboxGenesys(t)
	ctx := t.Context()
	esc, err := g.Escalate(ctx, Escalation{TransactionID: "TX-GD1", WorkflowID: "remediation-TX-GD1", Action: remediation.ActionRefund,
		DispositionCode: "Refund_Processed", AmountMinor: 4999, Currency: "USD", Reason: "gateway declined"})
	if err != nil || esc.WorkitemID == "" {
		t.Fatalf("escalate: %+v %v", esc, err)
	}
	read := func() WorkitemDecision {
		t.Helper()
		out, err := g.ReadWorkitemDecision(ctx, WorkitemDecisionRead{WorkitemID: esc.WorkitemID})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Open decides nothing.
	if out := read(); out.Decision != nil || !strings.Contains(out.Ignored, "decides nothing") || out.TransactionID != "TX-GD1" {
		t.Fatalf("open workitem: %+v", out)
	}
	decideInGenesys(t, base, esc.WorkitemID, "Approved", decidingUser, map[string]any{RefundAmountField: "39.50"})
	first := read()
	if d := first.Decision; d == nil || d.Decision != remediation.DecisionApprove || d.Approver != "genesys:"+decidingUser ||
		string(d.RefundAmount) != "39.50" || !strings.HasPrefix(d.DecisionID, "genesys:"+esc.WorkitemID+":") {
		t.Fatalf("approved: %+v", first)
	}
	// The same change read again is the same decision.
	if again := read(); again.Decision == nil || again.Decision.DecisionID != first.Decision.DecisionID {
		t.Fatalf("read again: %+v, first %+v", again, first)
	}
	// Another status change is another decision.
	time.Sleep(1100 * time.Millisecond)
	decideInGenesys(t, base, esc.WorkitemID, "Rejected", decidingUser, nil)
	if rej := read(); rej.Decision == nil || rej.Decision.Decision != remediation.DecisionReject || rej.Decision.DecisionID == first.Decision.DecisionID ||
		rej.Decision.RefundAmount != "" {
		t.Fatalf("rejected: %+v", rej)
	}
	// The approval failed again: the new review round puts the workitem
	// back in Open, so it does not go on saying a decision was made.
	if _, err := g.Escalate(ctx, Escalation{TransactionID: "TX-GD1", WorkflowID: "remediation-TX-GD1", Action: remediation.ActionRefund,
		DispositionCode: "Refund_Processed", AmountMinor: 4999, Currency: "USD", Reason: "rejected by Genesys, then the gateway failed again"}); err != nil {
		t.Fatal(err)
	}
	if out := read(); out.Decision != nil || !strings.Contains(out.Ignored, `"Open" decides nothing`) {
		t.Fatalf("after a new review round: %+v", out)
	}
	// A workitem of another worktype is refused, whatever its status.
	other := genesysAt(t, base, "00000000-0000-4000-8000-000000000000")
	if out, err := other.ReadWorkitemDecision(ctx, WorkitemDecisionRead{WorkitemID: esc.WorkitemID}); err != nil || out.Decision != nil || !strings.Contains(out.Ignored, "worktype") {
		t.Fatalf("other worktype: %+v %v", out, err)
	}
	// No such workitem: nothing.
	if out, err := g.ReadWorkitemDecision(ctx, WorkitemDecisionRead{WorkitemID: "0000aaaa-0000-4000-8000-000000000000"}); err != nil || out.Decision != nil {
		t.Fatalf("unknown workitem: %+v %v", out, err)
	}
	led := sandboxLedger(t, base)
	if led.Stats.GenesysSpecViolations != 0 {
		t.Errorf("requests violate the Genesys spec: %q", led.Stats.GenesysSpecViolationNotes)
	}
}

func TestDecisionStatusesConfig(t *testing.T) {
	c := GenesysConfig{DecisionStatuses: "Approved=approve, Abgelehnt = reject"}
	if k, ok := c.decisionOf("abgelehnt"); !ok || k != remediation.DecisionReject {
		t.Errorf("Abgelehnt: %q %v", k, ok)
	}
	if _, ok := c.decisionOf("Resolved"); ok {
		t.Error("a status not in the map decides")
	}
	if _, err := parseDecisionStatuses("Approved=yes"); err == nil {
		t.Error("decision yes accepted")
	}
}

// Past the sandbox's Genesys rate limit the client's error is retryable
// after exactly the Retry-After Genesys gave.
func TestGenesysRateLimitIsRetriedAfterRetryAfter(t *testing.T) {
	t.Parallel()
	srv, err := sandbox.New(sandbox.Config{Clients: "gen:secret", TokenTTL: time.Minute, HangFor: time.Hour, Seed: 1, GenesysRateLimit: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	g := genesysAt(t, ts.URL, testWorktype)
	for i := range 2 {
		if err := g.UpdateAttributes(t.Context(), interactionUpdate()); err != nil {
			t.Fatalf("call %d within the limit: %v", i, err)
		}
	}
	err = g.UpdateAttributes(t.Context(), interactionUpdate())
	ae := asApplicationError(t, err)
	if ae.Type() != string(ErrGenesysUnavailable) || ae.NonRetryable() || ae.NextRetryDelay() < 58*time.Second || ae.NextRetryDelay() > 60*time.Second {
		t.Fatalf("past the limit: %v (type %s, delay %s)", err, ae.Type(), ae.NextRetryDelay())
	}
	if led := sandboxLedger(t, ts.URL); led.Stats.GenesysRateLimited != 1 || led.Stats.GenesysRequests != 3 || led.Stats.GenesysSpecViolations != 0 {
		t.Errorf("stats %+v", led.Stats)
	}
}
