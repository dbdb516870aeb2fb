package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The Genesys Cloud endpoints of the contract (§5). Genesys has no
// idempotency key, so the sandbox stores every call as it came: a second
// workitem for one transaction shows in the ledger summary.

// genesysError is Genesys's error body shape.
func genesysError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"message": message, "code": code, "status": status})
}

// genesysForced applies X-Sandbox-Fail to a Genesys call; it returns true
// when it answered.
func (s *Server) genesysForced(w http.ResponseWriter, r *http.Request) bool {
	status, hang, err := forcedFault(r)
	switch {
	case err != nil:
		genesysError(w, http.StatusBadRequest, "bad.request", err.Error())
		return true
	case hang:
		s.sleep(s.cfg.HangFor, r.Context().Done())
		return r.Context().Err() != nil
	case status == 0:
		return false
	}
	s.mu.Lock()
	s.ledger.Stats.Faults["forced_"+strconv.Itoa(status)]++
	s.dirty = true
	s.mu.Unlock()
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", s.retryAfterSeconds())
	}
	genesysError(w, status, "sandbox.forced", "failure forced by X-Sandbox-Fail")
	return true
}

// genesysFails answers a forced failure (X-Sandbox-Fail) or a random one
// (SANDBOX_GENESYS_FAULT_5XX); it returns true when it answered. A workitem
// creation rolls its random fault only after storing (see createWorkitem).
func (s *Server) genesysFails(w http.ResponseWriter, r *http.Request) bool {
	if s.genesysForced(w, r) {
		return true
	}
	s.mu.Lock()
	fail := s.roll(s.cfg.GenesysFault5xx)
	if fail {
		s.ledger.Stats.Faults["genesys_503"]++
		s.dirty = true
	}
	s.mu.Unlock()
	if fail {
		genesysError(w, http.StatusServiceUnavailable, "service.unavailable", "injected Genesys outage")
	}
	return fail
}

// isUUID reports whether s has the 8-4-4-4-12 hex shape of Genesys ids.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}

// decodeStrict reads a JSON body into v, refusing unknown fields.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type must be application/json, got %q", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// updateAttributes is PATCH .../participants/{participantId}/attributes.
func (s *Server) updateAttributes(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	var body struct {
		Attributes map[string]string `json:"attributes"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", "attributes: "+err.Error())
		return
	}
	if len(body.Attributes) == 0 {
		genesysError(w, http.StatusBadRequest, "bad.request", "attributes must not be empty")
		return
	}
	s.mu.Lock()
	s.ledger.AttributeWrites = append(s.ledger.AttributeWrites, AttributeWrite{
		ConversationID: r.PathValue("conversationId"),
		ParticipantID:  r.PathValue("participantId"),
		Attributes:     body.Attributes,
		At:             s.now().UTC(),
	})
	s.dirty = true
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, body)
}

// setWrapup is POST .../communications/{communicationId}/wrapup. Genesys
// takes a wrap-up only during after-call work; conversation IDs starting
// ENDED- play a call whose after-call work is over, answered 400.
func (s *Server) setWrapup(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	var body struct {
		Code            string   `json:"code"`
		Name            string   `json:"name"`
		Notes           string   `json:"notes"`
		Tags            []string `json:"tags"`
		DurationSeconds int      `json:"durationSeconds"`
		EndTime         string   `json:"endTime"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", "wrapup: "+err.Error())
		return
	}
	if !isUUID(body.Code) {
		genesysError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("wrapup code %q is not a wrap-up code id (a UUID)", body.Code))
		return
	}
	conversation := r.PathValue("conversationId")
	accepted := !strings.HasPrefix(conversation, "ENDED-")
	s.mu.Lock()
	s.ledger.Wrapups = append(s.ledger.Wrapups, Wrapup{
		ConversationID:  conversation,
		ParticipantID:   r.PathValue("participantId"),
		CommunicationID: r.PathValue("communicationId"),
		Code:            body.Code,
		Notes:           body.Notes,
		Accepted:        accepted,
		At:              s.now().UTC(),
	})
	s.dirty = true
	s.mu.Unlock()
	if !accepted {
		genesysError(w, http.StatusBadRequest, "conversation.participant.wrapup.not.allowed", "the communication is no longer in after-call work")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

// emailAddress is one address of an agentless email.
type emailAddress struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// sendAgentlessEmail is POST /api/v2/conversations/emails/agentless.
func (s *Server) sendAgentlessEmail(w http.ResponseWriter, r *http.Request) {
	if s.genesysFails(w, r) {
		return
	}
	var body struct {
		SenderType     string         `json:"senderType"`
		FromAddress    emailAddress   `json:"fromAddress"`
		ToAddresses    []emailAddress `json:"toAddresses"`
		ReplyToAddress *emailAddress  `json:"replyToAddress"`
		Subject        string         `json:"subject"`
		TextBody       string         `json:"textBody"`
		HTMLBody       string         `json:"htmlBody"`
	}
	if err := decodeStrict(w, r, &body); err != nil {
		genesysError(w, http.StatusBadRequest, "bad.request", "email: "+err.Error())
		return
	}
	var problems []string
	if body.SenderType != "Outbound" {
		problems = append(problems, `senderType must be "Outbound"`)
	}
	if !strings.Contains(body.FromAddress.Email, "@") {
		problems = append(problems, "fromAddress.email is required")
	}
	if len(body.ToAddresses) == 0 {
		problems = append(problems, "toAddresses needs a recipient")
	}
	var to []string
	for _, a := range body.ToAddresses {
		if !strings.Contains(a.Email, "@") {
			problems = append(problems, fmt.Sprintf("recipient %q is not an email address", a.Email))
		}
		to = append(to, a.Email)
	}
	if body.Subject == "" {
		problems = append(problems, "subject is required")
	}
	if body.TextBody == "" && body.HTMLBody == "" {
		problems = append(problems, "textBody or htmlBody is required")
	}
	if len(problems) > 0 {
		genesysError(w, http.StatusBadRequest, "bad.request", strings.Join(problems, "; "))
		return
	}
	text := body.TextBody
	if text == "" {
		text = body.HTMLBody
	}
	id := newUUID()
	s.mu.Lock()
	s.ledger.Emails = append(s.ledger.Emails, Email{
		ConversationID: id,
		From:           body.FromAddress.Email,
		To:             to,
		Subject:        body.Subject,
		Body:           text,
		At:             s.now().UTC(),
	})
	s.dirty = true
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{
		"id":           id,
		"conversation": map[string]string{"id": id, "selfUri": "/api/v2/conversations/emails/" + id},
	})
}
