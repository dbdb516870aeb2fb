package activities

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/sandbox"
)

// fakeGenesys is a small Genesys Cloud: the login endpoint, participant
// attributes, wrap-up, and a Task Management store that answers queries
// from what was created, so a retried escalation sees the earlier one.
type fakeGenesys struct {
	t     *testing.T
	srv   *httptest.Server
	oauth *oauthServer
	reqs  *requests

	mu        sync.Mutex
	workitems map[string]map[string]any
	order     []string
	// failNextCreateAfterStoring answers 500 to the next create after
	// storing the workitem: the answer was lost, as in a crash.
	failNextCreateAfterStoring bool
	// answer, when set for "METHOD path-pattern", replaces the normal answer.
	answer map[string]func(w http.ResponseWriter, r *http.Request) bool
	// statuses are every worktype's statuses; a PATCH to a status not
	// among them is refused, as Genesys refuses one.
	statuses []workitemStatus
}

const (
	testWorktype = "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c"
	testQueue    = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
	testWrapup   = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"
)

// genesysSpec is the Platform API spec the sandbox validates against.
func genesysSpec(t *testing.T) *sandbox.GenesysSpec {
	t.Helper()
	spec, err := sandbox.GenesysPlatformSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func newFakeGenesys(t *testing.T) *fakeGenesys {
	t.Helper()
	g := &fakeGenesys{t: t, oauth: newOAuthServer(t, 86400), reqs: &requests{}, workitems: map[string]map[string]any{}, answer: map[string]func(http.ResponseWriter, *http.Request) bool{},
		statuses: []workitemStatus{{ID: "st-open", Name: "Open", Category: "Open"}, {ID: "st-work", Name: "In Progress", Category: "InProgress"}, {ID: "st-closed", Name: "Closed", Category: "Closed"}}}
	mux := http.NewServeMux()
	mux.Handle("POST /oauth/token", g.oauth)
	route := func(pattern string, h func(w http.ResponseWriter, r *http.Request, rec recorded)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			// Every request the client sends must be one Genesys takes.
			if problem, known := genesysSpec(g.t).Check(r); problem != "" || !known {
				g.t.Errorf("%s %s violates the Genesys Platform API spec (known route %v): %s", r.Method, r.URL.Path, known, problem)
			}
			rec := record(g.t, r)
			g.reqs.add(rec)
			g.mu.Lock()
			override := g.answer[pattern]
			g.mu.Unlock()
			if override != nil && override(w, r) {
				return
			}
			h(w, r, rec)
		})
	}
	route("PATCH /api/v2/conversations/calls/{conv}/participants/{part}/attributes", func(w http.ResponseWriter, _ *http.Request, _ recorded) {
		writeJSON(w, 202, map[string]any{})
	})
	route("POST /api/v2/conversations/calls/{conv}/participants/{part}/communications/{comm}/wrapup", func(w http.ResponseWriter, _ *http.Request, _ recorded) {
		w.WriteHeader(202)
	})
	route("POST /api/v2/conversations/emails/agentless", func(w http.ResponseWriter, _ *http.Request, _ recorded) {
		writeJSON(w, 202, map[string]any{"conversationId": "email-1"})
	})
	route("POST /api/v2/taskmanagement/workitems/query", g.query)
	route("POST /api/v2/taskmanagement/workitems", g.create)
	route("GET /api/v2/taskmanagement/workitems/{id}", func(w http.ResponseWriter, r *http.Request, _ recorded) {
		g.mu.Lock()
		wi, ok := g.workitems[r.PathValue("id")]
		g.mu.Unlock()
		if !ok {
			writeJSON(w, 404, map[string]any{"code": "not.found"})
			return
		}
		writeJSON(w, 200, wi)
	})
	route("PATCH /api/v2/taskmanagement/workitems/{id}", func(w http.ResponseWriter, r *http.Request, rec recorded) {
		var patch map[string]any
		if err := json.Unmarshal([]byte(rec.body), &patch); err != nil {
			g.t.Errorf("PATCH workitem body: %v", err)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		wi, ok := g.workitems[r.PathValue("id")]
		if !ok {
			writeJSON(w, 404, map[string]any{"code": "not.found"})
			return
		}
		if id, ok := patch["statusId"].(string); ok {
			category := ""
			for _, st := range g.statuses {
				if st.ID == id {
					category = st.Category
				}
			}
			if category == "" {
				writeJSON(w, 400, map[string]any{"code": "bad.request", "message": "status " + id + " not found"})
				return
			}
			wi["statusCategory"] = category
		}
		for k, v := range patch {
			wi[k] = v
		}
		writeJSON(w, 200, wi)
	})
	route("GET /api/v2/taskmanagement/worktypes/{wt}/statuses", func(w http.ResponseWriter, _ *http.Request, _ recorded) {
		g.mu.Lock()
		defer g.mu.Unlock()
		writeJSON(w, 200, map[string]any{"entities": g.statuses, "total": len(g.statuses)})
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// query checks the body has the shape Genesys requires (an EQ filter on
// typeId, and ours on externalTag) and answers from the store.
func (g *fakeGenesys) query(w http.ResponseWriter, _ *http.Request, rec recorded) {
	var q struct {
		Filters []struct {
			Name, Type, Operator string
			Values               []string
		}
		PageSize int
	}
	if err := json.Unmarshal([]byte(rec.body), &q); err != nil {
		g.t.Errorf("query body: %v", err)
	}
	want := map[string]string{}
	for _, f := range q.Filters {
		if f.Type != "String" || f.Operator != "EQ" || len(f.Values) != 1 {
			g.t.Errorf("query filter %+v", f)
		}
		want[f.Name] = f.Values[0]
	}
	if want["typeId"] == "" || want["externalTag"] == "" {
		writeJSON(w, 400, map[string]any{"message": "requires an EQ filter on typeId and externalTag"})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	entities := []map[string]any{}
	for _, id := range g.order {
		wi := g.workitems[id]
		if wi["typeId"] == want["typeId"] && wi["externalTag"] == want["externalTag"] {
			entities = append(entities, wi)
		}
	}
	writeJSON(w, 200, map[string]any{"entities": entities, "count": len(entities)})
}

func (g *fakeGenesys) create(w http.ResponseWriter, _ *http.Request, rec recorded) {
	var wi map[string]any
	if err := json.Unmarshal([]byte(rec.body), &wi); err != nil {
		g.t.Errorf("create body: %v", err)
	}
	g.mu.Lock()
	id := fmt.Sprintf("wi-%d", len(g.order)+1)
	wi["id"] = id
	wi["statusCategory"] = "Open"
	g.workitems[id] = wi
	g.order = append(g.order, id)
	lose := g.failNextCreateAfterStoring
	g.failNextCreateAfterStoring = false
	g.mu.Unlock()
	if lose {
		writeJSON(w, 503, map[string]any{"message": "gateway timeout"})
		return
	}
	writeJSON(w, 200, wi)
}

func (g *fakeGenesys) setAnswer(pattern string, f func(w http.ResponseWriter, r *http.Request) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answer[pattern] = f
}

// put stores a workitem as Genesys would hold it.
func (g *fakeGenesys) put(id string, wi map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wi["id"] = id
	g.workitems[id] = wi
	g.order = append(g.order, id)
}

func (g *fakeGenesys) workitemCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.order)
}

func (g *fakeGenesys) workitem(id string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]any{}
	for k, v := range g.workitems[id] {
		out[k] = v
	}
	return out
}

// count is the number of requests of method to path.
func (g *fakeGenesys) count(method, path string) int {
	n := 0
	for _, r := range g.reqs.all() {
		if r.method == method && r.path == path {
			n++
		}
	}
	return n
}

func (g *fakeGenesys) config() GenesysConfig {
	return GenesysConfig{
		APIURL:             g.srv.URL,
		LoginURL:           g.srv.URL,
		ClientID:           testClientID,
		ClientSecret:       testClientSecret,
		FailedWrapupCodeID: testWrapup,
		WorktypeID:         testWorktype,
		QueueID:            testQueue,
		Timeout:            5 * time.Second,
	}
}

func (g *fakeGenesys) client(cfg GenesysConfig) (*GenesysClient, *logBuffer) {
	g.t.Helper()
	logger, logs := testLogger()
	c, err := NewGenesysClient(cfg, NewHTTPClient(cfg.Timeout), logger)
	if err != nil {
		g.t.Fatal(err)
	}
	return c, logs
}

// wantJSON compares a JSON body with want, ignoring key order.
func wantJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want is not JSON: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s body\n got %s\nwant %s", what, got, want)
	}
}
