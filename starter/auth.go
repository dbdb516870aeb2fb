package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Genesys signs nothing, so a Data Action proves itself with a shared
// secret: its "User Defined" credential, sent as a Bearer token (or as the
// password of HTTP Basic, which some callers find easier). Finance
// approvers have tokens of their own, mapped to the name recorded with
// each decision.

// secret is a token kept as its SHA-256 digest: comparing digests in
// constant time hides both the content and the length of the tokens.
type secret [sha256.Size]byte

func newSecret(token string) secret { return sha256.Sum256([]byte(token)) }

func (s secret) equal(o secret) bool { return subtle.ConstantTimeCompare(s[:], o[:]) == 1 }

// tokenSet holds the webhook tokens; any of them is accepted, so a token
// can be rotated by adding the new one before removing the old.
type tokenSet []secret

func parseTokens(tokens []string) (tokenSet, error) {
	var set tokenSet
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t != "" {
			set = append(set, newSecret(t))
		}
	}
	if len(set) == 0 {
		return nil, errors.New("at least one token is required")
	}
	return set, nil
}

// contains compares against every token, without stopping at a match, so
// the time taken says nothing about which token matched.
func (ts tokenSet) contains(candidate secret) bool {
	found := 0
	for _, t := range ts {
		if t.equal(candidate) {
			found = 1
		}
	}
	return found == 1
}

type approver struct {
	name  string
	token secret
}

// approverSet maps approver tokens to approver names.
type approverSet []approver

// parseApprovers reads "name:token,...". The name is what the workflow
// records (and checks against the agent, for the four-eyes rule).
func parseApprovers(spec string) (approverSet, error) {
	var set approverSet
	names := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, token, ok := strings.Cut(part, ":")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		if !ok || name == "" || token == "" {
			return nil, fmt.Errorf("entry %d: want name:token", len(set)+1)
		}
		if names[name] {
			return nil, fmt.Errorf("approver %q is listed twice", name)
		}
		s := newSecret(token)
		for _, a := range set {
			if a.token.equal(s) {
				return nil, fmt.Errorf("approvers %q and %q share a token", a.name, name)
			}
		}
		names[name] = true
		set = append(set, approver{name: name, token: s})
	}
	return set, nil
}

// lookup returns the approver whose token this is, checking every entry.
func (as approverSet) lookup(candidate secret) (string, bool) {
	name := ""
	for _, a := range as {
		if a.token.equal(candidate) {
			name = a.name
		}
	}
	return name, name != ""
}

// has reports whether t is any approver's token.
func (as approverSet) has(t secret) bool {
	_, ok := as.lookup(t)
	return ok
}

// presentedToken reads the credential from Authorization: "Bearer <token>",
// or Basic with the token as the password (the user name is ignored).
func presentedToken(r *http.Request) (secret, bool) {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		token := strings.TrimSpace(rest)
		return newSecret(token), token != ""
	case strings.EqualFold(scheme, "Basic"):
		_, password, ok := r.BasicAuth()
		return newSecret(password), ok && password != ""
	}
	return secret{}, false
}

// authorizeWebhook answers 401 unless a webhook token was presented.
func (s *server) authorizeWebhook(w http.ResponseWriter, r *http.Request) bool {
	if tok, ok := presentedToken(r); ok && s.webhook.contains(tok) {
		return true
	}
	s.unauthorized(w, msgUnauthorized)
	return false
}

// authorizeApprover answers 401 unless an approver token was presented,
// and returns the approver's name. A webhook token is refused with a
// message that says so, since it is the one credential a caller of the
// finance API is likely to have mixed up; both sets are compared in full,
// whatever the token, as everywhere else.
func (s *server) authorizeApprover(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, presented := presentedToken(r)
	if !presented {
		s.unauthorized(w, msgUnauthorized)
		return "", false
	}
	name, isApprover := s.approvers.lookup(tok)
	isWebhook := s.webhook.contains(tok)
	switch {
	case isApprover:
		return name, true
	case isWebhook:
		s.unauthorized(w, msgWebhookNotApprover)
	default:
		s.unauthorized(w, msgUnauthorized)
	}
	return "", false
}

const (
	msgUnauthorized       = "missing or invalid credentials"
	msgWebhookNotApprover = "an approver token is required: this is a webhook token"
)

func (s *server) unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="refundflow"`)
	writeError(w, http.StatusUnauthorized, msg)
}
