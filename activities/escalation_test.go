package activities

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/refundflow/refundflow/internal/remediation"
)

const (
	workitemsPath = "/api/v2/taskmanagement/workitems"
	queryPath     = "/api/v2/taskmanagement/workitems/query"
	emailPath     = "/api/v2/conversations/emails/agentless"
)

func escalation() Escalation {
	return Escalation{
		TransactionID:   "T1",
		WorkflowID:      "remediation-T1",
		Action:          remediation.ActionRefund,
		DispositionCode: "Refund_Processed",
		AmountMinor:     4999,
		Currency:        "USD",
		Reason:          "gateway refund failed (GatewayRejected): gateway answered 422",
		ConversationID:  "conv-1",
		AgentID:         "agent-7",
		CustomerID:      "C9",
	}
}

const wantDescription = "Refund review for transaction T1: refund (Refund_Processed).\n" +
	"Reason: gateway refund failed (GatewayRejected): gateway answered 422\n" +
	"Amount: 49.99 USD\n" +
	"Customer: C9\n" +
	"Conversation: conv-1\n" +
	"Agent: agent-7\n" +
	"Workflow: remediation-T1\n" +
	"Decide with the finance-decision signal: approve, reject or resolved."

func TestEscalateLooksUpThenCreatesTheWorkitem(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	res, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	if res != (EscalationResult{Channel: ChannelWorkitem, WorkitemID: "wi-1", Created: true}) {
		t.Errorf("result = %+v", res)
	}
	reqs := g.reqs.all()
	if len(reqs) != 2 || reqs[0].path != queryPath || reqs[1].path != workitemsPath {
		t.Fatalf("requests = %v, want the query first, then the create", reqs)
	}
	wantJSON(t, "query", reqs[0].body, `{"filters":[
		{"name":"typeId","type":"String","operator":"EQ","values":["7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c"]},
		{"name":"externalTag","type":"String","operator":"EQ","values":["T1"]}],"pageSize":25}`)
	create, _ := json.Marshal(map[string]any{
		"name":        "Refund review T1",
		"typeId":      testWorktype,
		"queueId":     testQueue,
		"description": wantDescription,
		"priority":    workitemPriority,
		"externalTag": "T1",
		"customFields": map[string]string{
			"transactionid_text": "T1",
			"workflowid_text":    "remediation-T1",
		},
	})
	wantJSON(t, "create", reqs[1].body, string(create))
	wantHeader(t, reqs[1], "Content-Type", "application/json")
	wantHeader(t, reqs[1], "Authorization", "Bearer "+token(1))
}

// A worktype whose data schema lacks our custom fields refuses the create:
// the review must still reach finance ops, without them.
func TestWorkitemCreatedWithoutCustomFieldsWhenTheSchemaRefusesThem(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	g.answer["POST /api/v2/taskmanagement/workitems"] = func(w http.ResponseWriter, _ *http.Request) bool {
		// The fake has already recorded (and read) this request's body.
		reqs := g.reqs.all()
		if bytes.Contains([]byte(reqs[len(reqs)-1].body), []byte("customFields")) {
			writeJSON(w, 400, map[string]any{"message": "customFields: transactionid_text is not in the schema", "code": "bad.request"})
			return true
		}
		return false
	}
	c, _ := g.client(g.config())
	res, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.WorkitemID == "" {
		t.Fatalf("result = %+v", res)
	}
	reqs := g.reqs.all()
	if len(reqs) != 3 || reqs[1].path != workitemsPath || reqs[2].path != workitemsPath {
		t.Fatalf("requests = %v, want query, refused create, create", reqs)
	}
	if strings.Contains(string(reqs[2].body), "customFields") {
		t.Errorf("second create still has customFields: %s", reqs[2].body)
	}
}

func TestEscalateTwiceCreatesOneWorkitem(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	first, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	if g.workitemCount() != 1 {
		t.Fatalf("%d workitems, want 1", g.workitemCount())
	}
	if again != (EscalationResult{Channel: ChannelWorkitem, WorkitemID: first.WorkitemID, Created: false}) {
		t.Errorf("second escalation = %+v, want the first workitem reused", again)
	}
	if n := g.count(http.MethodPatch, workitemsPath+"/"+first.WorkitemID); n != 0 {
		t.Errorf("%d PATCHes for an unchanged review", n)
	}
}

func TestEscalateRetriedAfterALostAnswerCreatesOneWorkitem(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	g.failNextCreateAfterStoring = true
	c, _ := g.client(g.config())
	_, err := c.Escalate(t.Context(), escalation())
	wantRetryable(t, err, ErrGenesysUnavailable, 0)
	// Temporal retries the activity: it must find what the first attempt made.
	res, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	if g.workitemCount() != 1 || res.WorkitemID != "wi-1" || res.Created {
		t.Errorf("after the retry: %d workitems, result %+v; want wi-1 reused", g.workitemCount(), res)
	}
	if n := g.count(http.MethodPost, workitemsPath); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
}

func TestEscalateAgainWithANewReasonUpdatesTheWorkitem(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	if _, err := c.Escalate(t.Context(), escalation()); err != nil {
		t.Fatal(err)
	}
	e := escalation()
	e.Reason = "approved by fin-1, but the gateway failed again: 422"
	res, err := c.Escalate(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || g.workitemCount() != 1 {
		t.Fatalf("result %+v with %d workitems", res, g.workitemCount())
	}
	desc, _ := g.workitem("wi-1")["description"].(string)
	if !strings.Contains(desc, "Reason: approved by fin-1, but the gateway failed again: 422") {
		t.Errorf("description not updated: %q", desc)
	}
}

func TestEscalatePrefersAnOpenWorkitem(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	g.setAnswer("POST /api/v2/taskmanagement/workitems/query", func(w http.ResponseWriter, _ *http.Request) bool {
		writeJSON(w, 200, map[string]any{"entities": []map[string]any{
			{"id": "wi-old", "statusCategory": "Closed", "description": wantDescription},
			{"id": "wi-open", "statusCategory": "Open", "description": wantDescription},
		}})
		return true
	})
	res, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	if res.WorkitemID != "wi-open" || res.Created {
		t.Errorf("result = %+v", res)
	}
}

func TestEscalateQueryFailureCreatesNothing(t *testing.T) {
	t.Parallel()
	for _, answer := range []func(http.ResponseWriter, *http.Request) bool{
		func(w http.ResponseWriter, _ *http.Request) bool { writeJSON(w, 503, map[string]any{}); return true },
		func(w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(200)
			w.Write([]byte("<html>"))
			return true
		},
	} {
		g := newFakeGenesys(t)
		g.setAnswer("POST /api/v2/taskmanagement/workitems/query", answer)
		c, _ := g.client(g.config())
		_, err := c.Escalate(t.Context(), escalation())
		wantRetryable(t, err, ErrGenesysUnavailable, 0)
		if g.workitemCount() != 0 {
			t.Errorf("a workitem was created without a successful lookup")
		}
	}
}

func TestEscalateByEmailWithoutAWorktype(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	cfg := g.config()
	cfg.WorktypeID, cfg.FinanceOpsEmail, cfg.EmailFrom = "", "finance-ops@example.com", "refunds@notify.example.com"
	c, _ := g.client(cfg)
	e := escalation()
	e.AmountMinor, e.AmountText, e.Reason = 0, "49,99", "the refund amount cannot be used: malformed"
	res, err := c.Escalate(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	if res != (EscalationResult{Channel: ChannelEmail}) {
		t.Errorf("result = %+v", res)
	}
	reqs := g.reqs.all()
	if len(reqs) != 1 || reqs[0].method != http.MethodPost || reqs[0].path != emailPath {
		t.Fatalf("requests = %v", reqs)
	}
	text := "Transaction T1 needs a finance decision: refund (Refund_Processed).\n\n" +
		"Reason: the refund amount cannot be used: malformed\n" +
		"Amount: \"49,99\" USD as received (cannot be used as is)\n" +
		"Customer: C9\nConversation: conv-1\nAgent: agent-7\nWorkflow: remediation-T1\n\n" +
		"Decide with the finance-decision signal: approve, reject or resolved."
	body, _ := json.Marshal(map[string]any{
		"senderType":  "Outbound",
		"fromAddress": map[string]any{"email": "refunds@notify.example.com"},
		"toAddresses": []any{map[string]any{"email": "finance-ops@example.com"}},
		"subject":     "Refund review needed: T1",
		"textBody":    text,
	})
	wantJSON(t, "email", reqs[0].body, string(body))
}

func TestReviewDescriptionFitsAndCarriesNoCardData(t *testing.T) {
	t.Parallel()
	e := escalation()
	e.Reason = "agent note: card 4111 1111 1111 1111 " + strings.Repeat("very long reason ", 60)
	d := reviewDescription(e)
	if n := len([]rune(d)); n > maxDescription {
		t.Errorf("description is %d runes, Genesys takes %d", n, maxDescription)
	}
	if strings.Contains(d, "4111 1111 1111 1111") {
		t.Errorf("card number in the description: %q", d)
	}
	if !strings.Contains(d, "Amount: 49.99 USD") || !strings.HasSuffix(d, decideHint) {
		t.Errorf("the facts were cut instead of the reason: %q", d)
	}
}

func TestRemindRaisesTheWorkitemOnce(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	res, err := c.Escalate(t.Context(), escalation())
	if err != nil {
		t.Fatal(err)
	}
	r := Reminder{TransactionID: "T1", WorkflowID: "remediation-T1", WorkitemID: res.WorkitemID, Reason: "gateway failed", Count: 1, WaitingSince: "2026-11-25T06:00:00Z"}
	// Twice, as after a retried activity; then the next reminder.
	for _, n := range []int{1, 1, 2} {
		r.Count = n
		if err := c.Remind(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	wi := g.workitem(res.WorkitemID)
	desc, _ := wi["description"].(string)
	if strings.Count(desc, reminderPrefix) != 1 || !strings.HasSuffix(desc, "\nReminder #2: still waiting for a decision since 2026-11-25T06:00:00Z.") {
		t.Errorf("description = %q, want one line for the latest reminder", desc)
	}
	if !strings.HasPrefix(desc, wantDescription) {
		t.Errorf("the review itself was lost: %q", desc)
	}
	if p, _ := wi["priority"].(float64); p != workitemPriority+2 {
		t.Errorf("priority = %v, want %d", wi["priority"], workitemPriority+2)
	}
	if n := g.count(http.MethodPost, emailPath); n != 0 {
		t.Errorf("%d emails without an address configured", n)
	}
}

func TestRemindByEmail(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	cfg := g.config()
	cfg.WorktypeID, cfg.FinanceOpsEmail, cfg.EmailFrom = "", "finance-ops@example.com", "refunds@notify.example.com"
	c, _ := g.client(cfg)
	err := c.Remind(t.Context(), Reminder{TransactionID: "T1", WorkflowID: "remediation-T1", Reason: "gateway failed", Count: 3, WaitingSince: "2026-11-25T06:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.reqs.all()
	if len(reqs) != 1 || reqs[0].path != emailPath {
		t.Fatalf("requests = %v", reqs)
	}
	var m struct {
		Subject, TextBody string
		ToAddresses       []struct{ Email string }
	}
	_ = json.Unmarshal([]byte(reqs[0].body), &m)
	if m.Subject != "Reminder #3: refund review waiting: T1" || !strings.Contains(m.TextBody, "since 2026-11-25T06:00:00Z") || len(m.ToAddresses) != 1 {
		t.Errorf("email = %+v", m)
	}
}

func TestRemindWithWorkitemAndEmail(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	cfg := g.config()
	cfg.FinanceOpsEmail, cfg.EmailFrom = "finance-ops@example.com", "refunds@notify.example.com"
	c, _ := g.client(cfg)
	// Escalated before a worktype was configured: no workitem id yet.
	err := c.Remind(t.Context(), Reminder{TransactionID: "T1", WorkflowID: "remediation-T1", Reason: "gateway failed", Count: 1, WaitingSince: "2026-11-25T06:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if g.workitemCount() != 1 || g.count(http.MethodPost, emailPath) != 1 {
		t.Errorf("%d workitems and %d emails, want one of each", g.workitemCount(), g.count(http.MethodPost, emailPath))
	}
	// The next reminder finds that workitem rather than opening another.
	if err := c.Remind(t.Context(), Reminder{TransactionID: "T1", Reason: "gateway failed", Count: 2, WaitingSince: "2026-11-25T06:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	if g.workitemCount() != 1 {
		t.Errorf("%d workitems after two reminders", g.workitemCount())
	}
}
