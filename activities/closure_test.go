package activities

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/refundflow/refundflow/internal/remediation"
)

const statusesPath = "/api/v2/taskmanagement/worktypes/" + testWorktype + "/statuses"

func closure(id string) WorkitemClosure {
	return WorkitemClosure{
		TransactionID: "T1", WorkflowID: "remediation-T1", WorkitemID: id,
		State: remediation.StateCompleted, DecidedBy: "alice", DecisionID: "d1", DecidedAt: "2026-11-25T12:00:00Z",
		GatewayReference: "rf_1",
	}
}

const wantClosedLine = "Review closed: Completed, decided by alice (decision d1) at 2026-11-25T12:00:00Z; gateway reference rf_1."

// openWorkitem stores a review workitem as Genesys answers it: a type
// object, an Open status, and a reminder line under the review.
func openWorkitem(g *fakeGenesys, id string) {
	g.put(id, map[string]any{
		"name": "Refund review T1", "type": map[string]any{"id": testWorktype}, "externalTag": "T1",
		"description":    wantDescription + "\nReminder #3: still waiting for a decision since 2026-11-25T06:00:00Z.",
		"statusId":       "st-open",
		"statusCategory": "Open",
	})
}

// The closed status is found from the worktype, once per worker; the
// outcome line takes the reminder's place under the review.
func TestCloseWorkitemFindsTheClosedStatusOnce(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	openWorkitem(g, "wi-2")
	c, _ := g.client(g.config())
	if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
		t.Fatal(err)
	}
	reqs := g.reqs.all()
	if len(reqs) != 3 || reqs[0].method != http.MethodGet || reqs[0].path != workitemsPath+"/wi-1" ||
		reqs[1].method != http.MethodGet || reqs[1].path != statusesPath ||
		reqs[2].method != http.MethodPatch || reqs[2].path != workitemsPath+"/wi-1" {
		t.Fatalf("requests = %v, want the workitem read, the worktype's statuses, then the PATCH", reqs)
	}
	wantJSON(t, "close", reqs[2].body, `{"statusId":"st-closed","description":`+quoteJSON(wantDescription+"\n"+wantClosedLine)+`}`)
	if wi := g.workitem("wi-1"); wi["statusCategory"] != "Closed" {
		t.Errorf("workitem = %v, want it closed", wi)
	}

	if err := c.CloseWorkitem(t.Context(), closure("wi-2")); err != nil {
		t.Fatal(err)
	}
	if n := g.count(http.MethodGet, statusesPath); n != 1 {
		t.Errorf("statuses read %d times, want once (cached)", n)
	}
	if wi := g.workitem("wi-2"); wi["statusId"] != "st-closed" {
		t.Errorf("second workitem = %v, want it closed with the cached status", wi)
	}
}

func TestCloseWorkitemUsesTheConfiguredStatus(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	g.statuses = append(g.statuses, workitemStatus{ID: "st-refunded", Name: "Refunded", Category: "Closed"})
	openWorkitem(g, "wi-1")
	cfg := g.config()
	cfg.ClosedStatusID = "st-refunded"
	c, _ := g.client(cfg)
	if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
		t.Fatal(err)
	}
	if n := g.count(http.MethodGet, statusesPath); n != 0 {
		t.Errorf("statuses read %d times with a status configured", n)
	}
	if wi := g.workitem("wi-1"); wi["statusId"] != "st-refunded" || wi["statusCategory"] != "Closed" {
		t.Errorf("workitem = %v, want it in the configured status", wi)
	}
}

// A retried close (the answer to the first was lost) writes the same: one
// outcome line, and a workitem already Closed keeps its status.
func TestCloseWorkitemTwiceWritesTheOutcomeOnce(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	c, _ := g.client(g.config())
	for range 2 {
		if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.count(http.MethodPatch, workitemsPath+"/wi-1"); n != 2 {
		t.Fatalf("%d PATCHes, want 2", n)
	}
	last := g.reqs.all()[len(g.reqs.all())-1]
	wantJSON(t, "second close", last.body, `{"description":`+quoteJSON(wantDescription+"\n"+wantClosedLine)+`}`)
}

func TestCloseWorkitemRefusedIsFinal(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	g.setAnswer("PATCH /api/v2/taskmanagement/workitems/{id}", func(w http.ResponseWriter, _ *http.Request) bool {
		writeJSON(w, 400, map[string]any{"code": "bad.request", "message": "transition from Open to Closed is not allowed"})
		return true
	})
	c, _ := g.client(g.config())
	err := c.CloseWorkitem(t.Context(), closure("wi-1"))
	ae := wantFinal(t, err, ErrGenesysRejected)
	if !strings.Contains(ae.Error(), "close workitem wi-1 of T1") || !strings.Contains(ae.Error(), "not allowed") {
		t.Errorf("error = %v, want what failed and why", err)
	}
}

func TestCloseWorkitemToAStatusGenesysDoesNotKnowIsFinal(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	cfg := g.config()
	cfg.ClosedStatusID = "st-typo"
	c, _ := g.client(cfg)
	wantFinal(t, c.CloseWorkitem(t.Context(), closure("wi-1")), ErrGenesysRejected)
	if wi := g.workitem("wi-1"); wi["statusCategory"] != "Open" {
		t.Errorf("workitem = %v, want it untouched", wi)
	}
}

func TestCloseWorkitemDuringAnOutageIsRetryable(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	var up atomic.Bool
	g.setAnswer("GET /api/v2/taskmanagement/worktypes/{wt}/statuses", func(w http.ResponseWriter, _ *http.Request) bool {
		if up.Load() {
			return false
		}
		writeJSON(w, 503, map[string]any{"message": "service unavailable"})
		return true
	})
	c, _ := g.client(g.config())
	wantRetryable(t, c.CloseWorkitem(t.Context(), closure("wi-1")), ErrGenesysUnavailable, 0)
	if wi := g.workitem("wi-1"); wi["statusCategory"] != "Open" || strings.Contains(wi["description"].(string), closedPrefix) {
		t.Errorf("workitem = %v, want nothing written before the status is known", wi)
	}
	// The outage is not cached: the retry finds the status and closes.
	up.Store(true)
	if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
		t.Fatal(err)
	}
	if wi := g.workitem("wi-1"); wi["statusCategory"] != "Closed" {
		t.Errorf("workitem = %v, want it closed after the outage", wi)
	}
}

func TestCloseWorkitemWithoutAClearClosedStatusNeedsTheVariable(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		statuses []workitemStatus
		want     string
	}{
		"none":                {[]workitemStatus{{ID: "st-open", Name: "Open", Category: "Open"}}, "has no status in category Closed"},
		"several, none named": {[]workitemStatus{{ID: "st-a", Name: "Refunded", Category: "Closed"}, {ID: "st-b", Name: "Declined", Category: "Closed"}}, "Refunded (st-a), Declined (st-b)"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := newFakeGenesys(t)
			g.statuses = tc.statuses
			openWorkitem(g, "wi-1")
			c, _ := g.client(g.config())
			ae := wantFinal(t, c.CloseWorkitem(t.Context(), closure("wi-1")), ErrConfiguration)
			if !strings.Contains(ae.Error(), tc.want) || !strings.Contains(ae.Error(), "REFUNDFLOW_GENESYS_CLOSED_STATUS_ID") {
				t.Errorf("error = %v, want %q and the variable to set", ae, tc.want)
			}
			if n := g.count(http.MethodPatch, workitemsPath+"/wi-1"); n != 0 {
				t.Errorf("%d PATCHes without a status to close with", n)
			}
		})
	}
}

// Genesys' own Closed status is taken among the customer's Closed ones.
func TestCloseWorkitemPrefersTheStatusNamedClosed(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	g.statuses = []workitemStatus{{ID: "st-open", Name: "Open", Category: "Open"}, {ID: "st-a", Name: "Refunded", Category: "Closed"}, {ID: "st-closed", Name: "Closed", Category: "Closed"}}
	openWorkitem(g, "wi-1")
	c, _ := g.client(g.config())
	if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
		t.Fatal(err)
	}
	if wi := g.workitem("wi-1"); wi["statusId"] != "st-closed" {
		t.Errorf("workitem = %v, want the status named Closed", wi)
	}
}

// The outcome fits Genesys' description limit and carries no card data,
// even when the approver's name field holds one.
func TestClosedOutcomeFitsAndCarriesNoCardData(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	g.put("wi-1", map[string]any{"type": map[string]any{"id": testWorktype}, "statusCategory": "Open",
		"description": strings.Repeat("long review text ", 40)})
	c, _ := g.client(g.config())
	cl := closure("wi-1")
	cl.DecidedBy = "alice 4111 1111 1111 1111"
	if err := c.CloseWorkitem(t.Context(), cl); err != nil {
		t.Fatal(err)
	}
	desc, _ := g.workitem("wi-1")["description"].(string)
	// Genesys took the 680 runes it holds; the close writes no more.
	if n := len([]rune(desc)); n > 680 {
		t.Errorf("description is %d runes, longer than the 680 Genesys took", n)
	}
	if strings.Contains(desc, "4111 1111 1111 1111") {
		t.Errorf("card number in the description: %q", desc)
	}
	if !strings.Contains(desc, "\n"+closedPrefix+"Completed, decided by alice") || !strings.HasSuffix(desc, "; gateway reference rf_1.") {
		t.Errorf("the outcome was cut instead of the review text: %q", desc)
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A reminder still on its way when the review ends (its cancel is heard at
// the next heartbeat, seconds later) must not undo the close: the workitem
// stays Closed, at its priority, with the outcome line last.
func TestReminderAfterTheCloseLeavesTheWorkitemClosed(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	c, _ := g.client(g.config())
	if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
		t.Fatal(err)
	}
	closed := g.workitem("wi-1")
	r := Reminder{TransactionID: "T1", WorkflowID: "remediation-T1", WorkitemID: "wi-1", Reason: "gateway failed", Count: 4, WaitingSince: "2026-11-25T06:00:00Z"}
	if err := c.Remind(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	r.WorkitemID = "" // found by externalTag instead
	if err := c.Remind(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if n := g.count(http.MethodPatch, workitemsPath+"/wi-1"); n != 1 {
		t.Errorf("%d PATCHes of the workitem, want only the close", n)
	}
	after := g.workitem("wi-1")
	if after["statusCategory"] != "Closed" || after["description"] != closed["description"] || after["priority"] != closed["priority"] {
		t.Errorf("workitem after a late reminder = %v, want it as closed: %v", after, closed)
	}
}

// The outcome line is never replaced by a reminder line, only by itself.
func TestWithReminderKeepsTheOutcomeLine(t *testing.T) {
	t.Parallel()
	reopened := withReminder("Review\n"+wantClosedLine, "Reminder #5: still waiting")
	if want := "Review\n" + wantClosedLine + "\nReminder #5: still waiting"; reopened != want {
		t.Errorf("reminder after the outcome = %q, want %q", reopened, want)
	}
	if again := withReminder(reopened, wantClosedLine); again != "Review\n"+wantClosedLine {
		t.Errorf("closing again = %q, want one outcome line", again)
	}
}

// A workitem deleted in Genesys (or expired under a long review) leaves
// nothing open in a queue: nothing to close, and no write-back error.
func TestCloseWorkitemThatNoLongerExists(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	if err := c.CloseWorkitem(t.Context(), closure("wi-gone")); err != nil {
		t.Fatalf("close of a deleted workitem: %v", err)
	}
	if n := g.count(http.MethodPatch, workitemsPath+"/wi-gone"); n != 0 {
		t.Errorf("%d PATCHes of a workitem that does not exist", n)
	}
}

// A closed status that is gone (the worktype's Closed status recreated by an
// admin) fails one close, and the next looks it up again instead of failing
// until the worker restarts.
func TestCloseWorkitemLooksAgainAfterTheStatusIsRefused(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	openWorkitem(g, "wi-1")
	openWorkitem(g, "wi-2")
	openWorkitem(g, "wi-3")
	c, _ := g.client(g.config())
	if err := c.CloseWorkitem(t.Context(), closure("wi-1")); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	for i := range g.statuses {
		if g.statuses[i].Category == "Closed" {
			g.statuses[i].ID = "st-closed-2"
		}
	}
	g.mu.Unlock()
	wantFinal(t, c.CloseWorkitem(t.Context(), closure("wi-2")), ErrGenesysRejected)
	if err := c.CloseWorkitem(t.Context(), closure("wi-3")); err != nil {
		t.Fatalf("close after the status was recreated: %v", err)
	}
	if wi := g.workitem("wi-3"); wi["statusId"] != "st-closed-2" || wi["statusCategory"] != "Closed" {
		t.Errorf("workitem = %v, want it closed with the new status", wi)
	}
	if n := g.count(http.MethodGet, statusesPath); n != 2 {
		t.Errorf("statuses read %d times, want twice (once more after the refusal)", n)
	}
}

// A description someone lengthened in Genesys past our limit (Genesys took
// it, so it fits the org's) is not cut back to 512 by the next reminder.
func TestWithReminderKeepsALongerDescriptionGenesysTook(t *testing.T) {
	t.Parallel()
	notes := "Review\nFinance notes: " + strings.Repeat("checked with the bank; ", 60)
	got := withReminder(notes+"\nReminder #3: still waiting", "Reminder #4: still waiting")
	if want := notes + "\nReminder #4: still waiting"; got != want {
		t.Errorf("reminder cut the notes: %d runes, want %d", len([]rune(got)), len([]rune(want)))
	}
	if short := withReminder("Review", "Reminder #1: still waiting"); short != "Review\nReminder #1: still waiting" {
		t.Errorf("short description = %q", short)
	}
}

// A workitem a reminder opens (the escalation never got through) holds a
// description we compose: it keeps to our 512 runes, however long the
// transaction ID and the reason; a short one read back keeps to 512 too.
func TestDescriptionsWeComposeKeepTo512(t *testing.T) {
	t.Parallel()
	g := newFakeGenesys(t)
	c, _ := g.client(g.config())
	txn := strings.Repeat("T", 128)
	r := Reminder{TransactionID: txn, WorkflowID: "remediation-" + txn, Reason: strings.Repeat("the gateway failed again ", 20), Count: 2, WaitingSince: "2026-11-25T06:00:00Z"}
	if err := c.Remind(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if g.workitemCount() != 1 {
		t.Fatalf("%d workitems, want the one the reminder opened", g.workitemCount())
	}
	for _, req := range g.reqs.all() {
		if req.method != http.MethodPost || req.path != workitemsPath {
			continue
		}
		var created struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal([]byte(req.body), &created); err != nil {
			t.Fatal(err)
		}
		if n := len([]rune(created.Description)); n > maxDescription || !strings.HasSuffix(created.Description, "still waiting for a decision since 2026-11-25T06:00:00Z.") {
			t.Errorf("created description: %d runes (max %d), ends %q", n, maxDescription, created.Description[max(0, len(created.Description)-60):])
		}
	}
	short := strings.Repeat("r", 500)
	if n := len([]rune(withReminder(short, "Reminder #9: "+strings.Repeat("w", 40)))); n > maxDescription {
		t.Errorf("a 500-rune description with a reminder is %d runes, want at most %d", n, maxDescription)
	}
}

// A gateway's reference is what finance searches the gateway by: a long
// run of digits in it stays (a 16-digit Adyen pspReference, an rf_ id
// with digits in a row), only a real card number is masked.
func TestSanitizeReferenceKeepsReferencesMasksCards(t *testing.T) {
	for in, want := range map[string]string{
		"rf_9e8630080000000190c1a5c": "rf_9e8630080000000190c1a5c",
		"8816118280275544":           "8816118280275544",
		"ref 4111111111111111":       "ref 411111******1111",
		"re_1\nBearer abc":           "re_1 Bearer [redacted]",
	} {
		if got := sanitizeReference(in, 80); got != want {
			t.Errorf("sanitizeReference(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sanitize("rf_9e8630080000000190c1a5c", 80); got == "rf_9e8630080000000190c1a5c" {
		t.Errorf("sanitize no longer masks free text's long digit runs: %q", got)
	}
}
