package sandbox

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// genesysRateWindow is the window Genesys counts its rate limit over.
const genesysRateWindow = time.Minute

// genesysRateLimit counts the request against its OAuth client's limit
// (SANDBOX_GENESYS_RATE_LIMIT requests in any minute, as Genesys counts
// per OAuth client, all of its tokens together) and answers 429 with
// Retry-After and Genesys's inin-ratelimit-* headers past it. It returns
// false when it answered.
func (s *Server) genesysRateLimit(w http.ResponseWriter, r *http.Request) bool {
	_, access, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.Stats.GenesysRequests++
	s.dirty = true
	limit := s.cfg.GenesysRateLimit
	if limit <= 0 {
		return true
	}
	client := s.tokens[strings.TrimSpace(access)].clientID
	now := s.now()
	recent := s.genesysCalls[client]
	cut := 0
	for cut < len(recent) && !recent[cut].After(now.Add(-genesysRateWindow)) {
		cut++
	}
	recent = recent[cut:]
	if len(recent) >= limit {
		s.genesysCalls[client] = recent
		wait := recent[0].Add(genesysRateWindow).Sub(now)
		secs := max(int((wait+time.Second-1)/time.Second), 1)
		s.ledger.Stats.GenesysRateLimited++
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("inin-ratelimit-count", strconv.Itoa(len(recent)))
		w.Header().Set("inin-ratelimit-allowed", strconv.Itoa(limit))
		w.Header().Set("inin-ratelimit-reset", strconv.Itoa(secs))
		genesysError(w, http.StatusTooManyRequests, "too.many.requests",
			fmt.Sprintf("Rate limit exceeded the maximum [%d] requests within [60] seconds. Retry the request in [%d] seconds", limit, secs))
		return false
	}
	s.genesysCalls[client] = append(recent, now)
	w.Header().Set("inin-ratelimit-count", strconv.Itoa(len(recent)+1))
	w.Header().Set("inin-ratelimit-allowed", strconv.Itoa(limit))
	return true
}
