package sandbox

import (
	"net/http"
	"strings"
	"testing"
)

const (
	specWorktype = "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c"
	specQueue    = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
)

// genesysKinds is one request of each kind the worker sends: the valid
// body, and one Genesys's spec refuses, with a word the refusal names.
var genesysKinds = []struct {
	kind, method, path, valid, wrong, wantNote string
}{
	{"attributes", http.MethodPatch, "/api/v2/conversations/calls/conv-1/participants/part-1/attributes",
		`{"attributes":{"refundStatus":"Completed","refundReference":"rf_1","refundTransactionId":"S1"}}`,
		`{"attributes":{"refundStatus":7}}`, "refundStatus"},
	{"wrap-up", http.MethodPost, "/api/v2/conversations/calls/conv-1/participants/part-1/communications/comm-1/wrapup",
		`{"code":"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b","notes":"refund failed"}`,
		`{"code":"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b","durationSeconds":"long"}`, "durationSeconds"},
	{"workitem query", http.MethodPost, "/api/v2/taskmanagement/workitems/query",
		`{"filters":[{"name":"typeId","type":"String","operator":"EQ","values":["` + specWorktype + `"]},{"name":"externalTag","type":"String","operator":"EQ","values":["S1"]}],"pageSize":25}`,
		`{"filters":[{"name":"externalTag","type":"Text","operator":"EQUALS","values":["S1"]}]}`, "EQUALS"},
	{"workitem create", http.MethodPost, "/api/v2/taskmanagement/workitems",
		`{"name":"Refund review S1","typeId":"` + specWorktype + `","queueId":"` + specQueue + `","description":"why","priority":10,"externalTag":"S1","customFields":{"transactionid_text":"S1"}}`,
		`{"name":"Refund review S2","typeId":"` + specWorktype + `","queueId":"q-finance","description":"why"}`, "queueId"},
	{"workitem read", http.MethodGet, "/api/v2/taskmanagement/workitems/{id}", "", "?expands=everything", "expands"},
	{"workitem patch", http.MethodPatch, "/api/v2/taskmanagement/workitems/{id}",
		`{"priority":11,"description":"Reminder #1"}`, `{"priority":"high"}`, "priority"},
	{"worktype statuses", http.MethodGet, "/api/v2/taskmanagement/worktypes/" + specWorktype + "/statuses", "", "?pageSize=abc", "pageSize"},
	{"agentless email", http.MethodPost, "/api/v2/conversations/emails/agentless",
		`{"senderType":"Outbound","fromAddress":{"email":"refunds@example.com"},"toAddresses":[{"email":"finance@example.com"}],"subject":"Refund review","textBody":"decide"}`,
		`{"senderType":"Inbound","fromAddress":{"email":"refunds@example.com"},"subject":"Refund review","textBody":"decide"}`, "senderType"},
}

// Every kind of request the worker sends passes the spec in its valid
// form and is refused, counted and answered like Genesys in a wrong one:
// the check can fail for each.
func TestGenesysSpecRefusesWhatGenesysWould(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	auth := map[string]string{"Authorization": "Bearer " + h.token("sandbox-genesys", "sandbox-genesys-secret"), "Content-Type": "application/json"}
	// A workitem to read and patch.
	created := h.do(http.MethodPost, "/api/v2/taskmanagement/workitems", auth, genesysKinds[3].valid)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusOK || !isUUIDString(id) {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	for _, k := range genesysKinds {
		path := strings.ReplaceAll(k.path, "{id}", id)
		valid := h.do(k.method, path, auth, k.valid)
		if valid.status >= 300 {
			t.Errorf("%s: the valid request was answered %d %s", k.kind, valid.status, valid.raw)
		}
		if n := h.genesysSpecViolations(); n != 0 {
			t.Fatalf("%s: the valid request counted as a violation: %q", k.kind, h.srv.ledger.Stats.GenesysSpecViolationNotes)
		}
		wrongPath, wrongBody := path, k.wrong
		if k.method == http.MethodGet {
			wrongPath, wrongBody = path+k.wrong, ""
		}
		wrong := h.do(k.method, wrongPath, auth, wrongBody)
		if wrong.status != http.StatusBadRequest || wrong.body["code"] != "bad.request" || wrong.body["status"] != float64(400) ||
			!strings.Contains(wrong.raw, k.wantNote) {
			t.Errorf("%s: the wrong request was answered %d %s", k.kind, wrong.status, wrong.raw)
		}
		if n := h.genesysSpecViolations(); n != 1 {
			t.Fatalf("%s: violations = %d after one wrong request", k.kind, n)
		}
		notes := h.srv.ledger.Stats.GenesysSpecViolationNotes
		if !strings.Contains(notes[0], k.wantNote) {
			t.Errorf("%s: note %q does not name %s", k.kind, notes[0], k.wantNote)
		}
		h.srv.mu.Lock()
		h.srv.ledger.Stats.GenesysSpecViolations, h.srv.ledger.Stats.GenesysSpecViolationNotes = 0, nil
		h.srv.mu.Unlock()
	}
	// What the spec refused never reached the store: one workitem only.
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	if n := len(h.srv.ledger.Workitems); n != 2 {
		t.Errorf("workitems stored: %d, want the two valid creates", n)
	}
}

// The spec's one artifact is corrected, and only that one: customFields
// take strings, an unknown route is refused.
func TestGenesysSpecCustomFieldsAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	spec, err := GenesysPlatformSpec()
	if err != nil {
		t.Fatal(err)
	}
	req := func(method, path, body string) *http.Request {
		r, _ := http.NewRequest(method, "http://sandbox"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	if problem, known := spec.Check(req(http.MethodPatch, "/api/v2/taskmanagement/workitems/"+specQueue,
		`{"customFields":{"refundamount_text":"49.99","count_int":3}}`)); problem != "" || !known {
		t.Errorf("customFields strings: %q %v", problem, known)
	}
	if problem, known := spec.Check(req(http.MethodPost, "/api/v2/taskmanagement/workitems",
		`{"name":"x","typeId":"`+specWorktype+`","priority":"10"}`)); problem == "" || !known {
		t.Errorf("a string priority passed: %q %v", problem, known)
	}
	if _, known := spec.Check(req(http.MethodDelete, "/api/v2/taskmanagement/workitems/"+specQueue, "")); known {
		t.Error("DELETE workitem is not a route the project uses, yet it is known")
	}
}

func (h *harness) genesysSpecViolations() int {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	return h.srv.ledger.Stats.GenesysSpecViolations
}

func isUUIDString(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}
