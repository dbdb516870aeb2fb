package sandbox

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// token is an issued access token. Tokens live only in memory: a restarted
// sandbox forgets them, and callers must fetch new ones after a 401, as they
// would after a real authorization server rotated its keys.
type token struct {
	clientID string
	expires  time.Time
}

// issueToken is the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), with
// the client authenticated by HTTP Basic or by client_id/client_secret in the
// form, as both gateways and Genesys Cloud accept.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	want, known := s.clients[id]
	if id == "" || !known || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		s.mu.Lock()
		s.ledger.Stats.ClientAuthFailures++
		s.dirty = true
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}

	access := newID("sbx_")
	s.mu.Lock()
	now := s.now()
	// Expired tokens are dropped here, so the map stays small over long runs.
	for t, info := range s.tokens {
		if now.After(info.expires) {
			delete(s.tokens, t)
		}
	}
	s.tokens[access] = token{clientID: id, expires: now.Add(s.cfg.TokenTTL)}
	s.ledger.Stats.TokensIssued++
	s.dirty = true
	s.mu.Unlock()

	w.Header().Set("Cache-Control", "no-store")
	resp := map[string]any{
		"access_token": access,
		"token_type":   "bearer",
		"expires_in":   int(s.cfg.TokenTTL / time.Second),
	}
	if scope := r.PostForm.Get("scope"); scope != "" {
		resp["scope"] = scope
	}
	writeJSON(w, http.StatusOK, resp)
}

// checkBearer validates the request's access token. It answers 401 itself
// and returns false when the token is missing, unknown, expired, or revoked
// by the SANDBOX_TOKEN_EXPIRE_EVERY fault.
func (s *Server) checkBearer(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	scheme, access, _ := strings.Cut(auth, " ")
	access = strings.TrimSpace(access)
	if !strings.EqualFold(scheme, "Bearer") || access == "" {
		s.rejectToken(w, "missing bearer token")
		return false
	}
	s.mu.Lock()
	info, ok := s.tokens[access]
	switch {
	case !ok:
		s.mu.Unlock()
		s.rejectToken(w, "unknown token")
		return false
	case s.now().After(info.expires):
		delete(s.tokens, access)
		s.mu.Unlock()
		s.rejectToken(w, "token expired")
		return false
	}
	s.authCalls++
	if n := s.cfg.TokenExpireEvery; n > 0 && s.authCalls%n == 0 {
		delete(s.tokens, access)
		s.ledger.Stats.Faults["token_expired"]++
		s.dirty = true
		s.mu.Unlock()
		s.rejectToken(w, "token expired")
		return false
	}
	s.mu.Unlock()
	return true
}

func (s *Server) rejectToken(w http.ResponseWriter, why string) {
	s.mu.Lock()
	s.ledger.Stats.TokensRejected++
	s.dirty = true
	s.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+why+`"`)
	oauthError(w, http.StatusUnauthorized, "invalid_token", why)
}

// authenticated wraps a handler that needs a valid bearer token.
func (s *Server) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.checkBearer(w, r) {
			next(w, r)
		}
	}
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
