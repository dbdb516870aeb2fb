package main

import (
	"context"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
)

// readyTimeout bounds the readiness probe's call to Temporal; a probe that
// hangs is worse than one that says no.
const readyTimeout = 2 * time.Second

// handleHealth is GET /healthz: the process is up and serving. It does not
// look at Temporal, so an orchestrator never restarts the starter for
// Temporal's outage (the webhook answers 503 meanwhile).
func (s *server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady is GET /readyz: Temporal answers its health check.
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), min(readyTimeout, s.startTimeout))
	defer cancel()
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		s.logger.WarnContext(r.Context(), "not ready: Temporal unreachable", "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "Temporal is unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
