package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Task Management: the review workitems (query, create, read, update) and
// the statuses of their worktype.

// workitemFilter is one entry of a workitem query's filters.
type workitemFilter struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// queryWorkitems is POST /api/v2/taskmanagement/workitems/query. It supports
// EQ and IN on the fields the service can filter by; any other filter is a
// 400, so a query the sandbox cannot honour never silently matches nothing.
func (s *Server) queryWorkitems(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	var body struct {
		Filters  []workitemFilter `json:"filters"`
		Select   []string         `json:"select"`
		Sort     json.RawMessage  `json:"sort"`
		PageSize int              `json:"pageSize"`
		Cursor   string           `json:"cursor"`
		Expands  []string         `json:"expands"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", "query: "+err.Error())
		return
	}
	if len(body.Filters) == 0 {
		genesysError(w, http.StatusBadRequest, "bad.request", "at least one filter is required")
		return
	}
	for _, f := range body.Filters {
		if _, ok := workitemField(&Workitem{}, f.Name); !ok {
			genesysError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("filter on %q is not supported by the sandbox", f.Name))
			return
		}
		if op := strings.ToUpper(f.Operator); op != "EQ" && op != "IN" {
			genesysError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("operator %q is not supported by the sandbox", f.Operator))
			return
		}
		if len(f.Values) == 0 {
			genesysError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("filter on %q has no values", f.Name))
			return
		}
	}
	s.mu.Lock()
	s.ledger.WorkitemQueries++
	s.dirty = true
	entities := []map[string]any{}
	for _, wi := range s.ledger.Workitems {
		if matchesAll(wi, body.Filters) {
			entities = append(entities, wi.genesysView())
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"entities": entities})
}

func matchesAll(wi *Workitem, filters []workitemFilter) bool {
	for _, f := range filters {
		v, _ := workitemField(wi, f.Name)
		found := false
		for _, want := range f.Values {
			if v == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// workitemField returns the value of a filterable field.
func workitemField(wi *Workitem, name string) (string, bool) {
	switch name {
	case "id":
		return wi.ID, true
	case "externalTag":
		return wi.ExternalTag, true
	case "typeId":
		return wi.TypeID, true
	case "queueId":
		return wi.QueueID, true
	case "name":
		return wi.Name, true
	case "statusCategory":
		return wi.category(), true
	}
	return "", false
}

// workitemCreate is the body of POST /api/v2/taskmanagement/workitems: the
// contract's fields and the few other Genesys ones a caller may set.
type workitemCreate struct {
	Name         string         `json:"name"`
	TypeID       string         `json:"typeId"`
	QueueID      string         `json:"queueId"`
	Description  string         `json:"description"`
	Priority     *int           `json:"priority"`
	ExternalTag  string         `json:"externalTag"`
	CustomFields map[string]any `json:"customFields"`
	StatusID     string         `json:"statusId"`
	DateDue      string         `json:"dateDue"`
	DateExpires  string         `json:"dateExpires"`
	LanguageID   string         `json:"languageId"`
	WorkbinID    string         `json:"workbinId"`
}

// createWorkitem stores a workitem. It does not refuse a second workitem
// with the same externalTag, as Genesys does not: callers must query first.
func (s *Server) createWorkitem(w http.ResponseWriter, r *http.Request) {
	if s.genesysForced(w, r) {
		return
	}
	var body workitemCreate
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", "workitem: "+err.Error())
		return
	}
	var problems []string
	if body.Name == "" || len(body.Name) > 200 {
		problems = append(problems, "name is required, at most 200 characters")
	}
	if !isUUID(body.TypeID) {
		// Genesys ids are UUIDs: a worktype's name is no worktype.
		problems = append(problems, fmt.Sprintf("typeId %q is not a worktype id (a UUID)", body.TypeID))
	}
	if len(body.Description) > 8000 {
		problems = append(problems, "description is longer than 8000 characters")
	}
	if len(problems) > 0 {
		genesysError(w, http.StatusBadRequest, "bad.request", strings.Join(problems, "; "))
		return
	}
	now := s.now().UTC()
	if body.StatusID == "" {
		// Genesys puts a new workitem in its worktype's default status.
		body.StatusID = statusOpenID
	}
	wi := &Workitem{
		ID:             newUUID(),
		Name:           body.Name,
		TypeID:         body.TypeID,
		QueueID:        body.QueueID,
		Description:    body.Description,
		ExternalTag:    body.ExternalTag,
		CustomFields:   body.CustomFields,
		StatusID:       body.StatusID,
		StatusCategory: statusCategory(body.StatusID),
		DateCreated:    now,
		DateModified:   now,
	}
	if body.Priority != nil {
		wi.Priority = *body.Priority
	}
	s.mu.Lock()
	s.ledger.Workitems = append(s.ledger.Workitems, wi)
	s.dirty = true
	view := wi.genesysView()
	// The outage strikes after the store, so the caller cannot know
	// whether the workitem exists: a retry must look before it creates.
	lost := s.roll(s.cfg.GenesysFault5xx)
	if lost {
		s.ledger.Stats.Faults["genesys_504_after_create"]++
	}
	s.mu.Unlock()
	if lost {
		genesysError(w, http.StatusGatewayTimeout, "gateway.timeout", "injected timeout after the workitem was created")
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// getWorkitem is GET /api/v2/taskmanagement/workitems/{workitemId}; a
// reminder reads the current description before it rewrites it.
func (s *Server) getWorkitem(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	id := r.PathValue("workitemId")
	s.mu.Lock()
	var view map[string]any
	for _, wi := range s.ledger.Workitems {
		if wi.ID == id {
			view = wi.genesysView()
			break
		}
	}
	s.mu.Unlock()
	if view == nil {
		genesysError(w, http.StatusNotFound, "not.found", "workitem "+id+" not found")
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// updateWorkitem is PATCH /api/v2/taskmanagement/workitems/{workitemId}.
func (s *Server) updateWorkitem(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	var body struct {
		Name         *string        `json:"name"`
		QueueID      *string        `json:"queueId"`
		Description  *string        `json:"description"`
		Priority     *int           `json:"priority"`
		CustomFields map[string]any `json:"customFields"`
		StatusID     *string        `json:"statusId"`
		DateDue      *string        `json:"dateDue"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", "workitem update: "+err.Error())
		return
	}
	id := r.PathValue("workitemId")
	s.mu.Lock()
	var wi *Workitem
	for _, candidate := range s.ledger.Workitems {
		if candidate.ID == id {
			wi = candidate
			break
		}
	}
	if wi == nil {
		s.mu.Unlock()
		genesysError(w, http.StatusNotFound, "not.found", "workitem "+id+" not found")
		return
	}
	if body.Name != nil {
		wi.Name = *body.Name
	}
	if body.QueueID != nil {
		wi.QueueID = *body.QueueID
	}
	if body.Description != nil {
		wi.Description = *body.Description
	}
	if body.Priority != nil {
		wi.Priority = *body.Priority
	}
	if body.StatusID != nil && *body.StatusID != wi.StatusID {
		category, known := worktypeStatusCategory(*body.StatusID)
		if !known {
			s.mu.Unlock()
			genesysError(w, http.StatusBadRequest, "bad.request", "status "+*body.StatusID+" is not a status of worktype "+wi.TypeID)
			return
		}
		wi.StatusID, wi.StatusCategory = *body.StatusID, category
		changed := s.now().UTC()
		wi.DateStatusChanged = &changed
		wi.DateClosed = nil
		if category == categoryClosed {
			closed := s.now().UTC()
			wi.DateClosed = &closed
		}
	}
	if body.CustomFields != nil {
		if wi.CustomFields == nil {
			wi.CustomFields = map[string]any{}
		}
		for k, v := range body.CustomFields {
			wi.CustomFields[k] = v
		}
	}
	wi.Updates++
	wi.DateModified = s.now().UTC()
	wi.ModifiedBy = IntegrationUserID
	s.dirty = true
	view := wi.genesysView()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, view)
}

// setWorkitemStatusAsUser is POST /sandbox/genesys/workitems/{workitemId}/status
// with {"status": <name>, "userId", "customFields"?}: a person in
// Genesys Workspace sets the review's status (and, say, the corrected
// amount), as finance ops do to decide.
func (s *Server) setWorkitemStatusAsUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Status       string         `json:"status"`
		UserID       string         `json:"userId"`
		CustomFields map[string]any `json:"customFields"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", err.Error())
		return
	}
	var status *worktypeStatus
	for i := range worktypeStatuses {
		if strings.EqualFold(worktypeStatuses[i].Name, body.Status) {
			status = &worktypeStatuses[i]
		}
	}
	if status == nil || !isUUID(body.UserID) {
		genesysError(w, http.StatusBadRequest, "bad.request", "want a status name of the worktype and a userId (a UUID)")
		return
	}
	id := r.PathValue("workitemId")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, wi := range s.ledger.Workitems {
		if wi.ID != id {
			continue
		}
		now := s.now().UTC()
		if wi.StatusID != status.ID {
			wi.StatusID, wi.StatusCategory, wi.DateStatusChanged = status.ID, status.Category, &now
		}
		for k, v := range body.CustomFields {
			if wi.CustomFields == nil {
				wi.CustomFields = map[string]any{}
			}
			wi.CustomFields[k] = v
		}
		wi.ModifiedBy, wi.DateModified = body.UserID, now
		wi.Updates++
		s.dirty = true
		writeJSON(w, http.StatusOK, wi.genesysView())
		return
	}
	genesysError(w, http.StatusNotFound, "not.found", "workitem "+id+" not found")
}

// The statuses every worktype has in the sandbox: the Open and Closed ones
// Genesys creates with a worktype, and two of the kind a customer adds.
// IDs are fixed so tests and REFUNDFLOW_GENESYS_CLOSED_STATUS_ID can name
// them.
const (
	categoryOpen   = "Open"
	categoryClosed = "Closed"

	statusOpenID       = "5a4d0f2e-0000-4000-8000-000000000001"
	statusInProgressID = "5a4d0f2e-0000-4000-8000-000000000002"
	statusWaitingID    = "5a4d0f2e-0000-4000-8000-000000000003"
	statusClosedID     = "5a4d0f2e-0000-4000-8000-000000000004"
	// The decision statuses of genesys/worktype-statuses.json: finance
	// sets one in Workspace, and the worker applies it.
	statusApprovedID = "5a4d0f2e-0000-4000-8000-000000000005"
	statusRejectedID = "5a4d0f2e-0000-4000-8000-000000000006"
	statusResolvedID = "5a4d0f2e-0000-4000-8000-000000000007"

	// IntegrationUserID is who Genesys names as modifiedBy of a change made
	// with client credentials: the OAuth client's own user, not a person.
	IntegrationUserID = "1ea7c0de-0000-4000-8000-00000000c11e"
)

type worktypeStatus struct {
	ID, Name, Category string
}

var worktypeStatuses = []worktypeStatus{
	{statusOpenID, "Open", categoryOpen},
	{statusInProgressID, "In Progress", "InProgress"},
	{statusWaitingID, "Waiting for customer", "Waiting"},
	{statusClosedID, "Closed", categoryClosed},
	{statusApprovedID, "Approved", "InProgress"},
	{statusRejectedID, "Rejected", "InProgress"},
	{statusResolvedID, "Resolved", "InProgress"},
}

// worktypeStatusCategory is the category of a status every worktype has.
func worktypeStatusCategory(id string) (string, bool) {
	for _, st := range worktypeStatuses {
		if st.ID == id {
			return st.Category, true
		}
	}
	return "", false
}

// statusCategory is the category a workitem created in status id starts
// in: Open when it names none the sandbox knows.
func statusCategory(id string) string {
	if c, ok := worktypeStatusCategory(id); ok {
		return c
	}
	return categoryOpen
}

func (wi *Workitem) category() string {
	if wi.StatusCategory == "" {
		return categoryOpen
	}
	return wi.StatusCategory
}

// listWorktypeStatuses is GET /api/v2/taskmanagement/worktypes/{worktypeId}/statuses:
// a WorkitemStatusListing, as Genesys answers it, of the same statuses
// for every worktype.
func (s *Server) listWorktypeStatuses(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	worktype := r.PathValue("worktypeId")
	s.mu.Lock()
	s.ledger.WorktypeStatusQueries++
	s.dirty = true
	s.mu.Unlock()
	entities := make([]map[string]any, 0, len(worktypeStatuses))
	for _, st := range worktypeStatuses {
		entities = append(entities, map[string]any{
			"id":       st.ID,
			"name":     st.Name,
			"category": st.Category,
			"worktype": map[string]string{"id": worktype, "selfUri": "/api/v2/taskmanagement/worktypes/" + worktype},
			"selfUri":  "/api/v2/taskmanagement/worktypes/" + worktype + "/statuses/" + st.ID,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"entities": entities,
		"total":    len(entities),
		"selfUri":  "/api/v2/taskmanagement/worktypes/" + worktype + "/statuses",
	})
}

// genesysView renders a workitem the way Genesys answers it: references to
// other entities are objects with an id.
func (wi *Workitem) genesysView() map[string]any {
	v := map[string]any{
		"id":             wi.ID,
		"name":           wi.Name,
		"type":           map[string]string{"id": wi.TypeID},
		"description":    wi.Description,
		"priority":       wi.Priority,
		"statusCategory": wi.category(),
		"dateCreated":    wi.DateCreated,
		"dateModified":   wi.DateModified,
		"selfUri":        "/api/v2/taskmanagement/workitems/" + wi.ID,
	}
	if wi.QueueID != "" {
		v["queue"] = map[string]string{"id": wi.QueueID}
	}
	if wi.ExternalTag != "" {
		v["externalTag"] = wi.ExternalTag
	}
	if wi.StatusID != "" {
		v["status"] = map[string]string{"id": wi.StatusID}
	}
	if wi.DateClosed != nil {
		v["dateClosed"] = *wi.DateClosed
	}
	if wi.ModifiedBy != "" {
		v["modifiedBy"] = map[string]string{"id": wi.ModifiedBy, "selfUri": "/api/v2/users/" + wi.ModifiedBy}
	}
	if wi.DateStatusChanged != nil {
		v["dateStatusChanged"] = *wi.DateStatusChanged
	}
	if len(wi.CustomFields) > 0 {
		keys := make([]string, 0, len(wi.CustomFields))
		for k := range wi.CustomFields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fields := make(map[string]any, len(keys))
		for _, k := range keys {
			fields[k] = wi.CustomFields[k]
		}
		v["customFields"] = fields
	}
	return v
}
