package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// retryAfterSeconds is what a 503 asks the caller to wait. Retrying any
// request is safe: a disposition starts at most one workflow, and a decision
// carries its decisionId.
const retryAfterSeconds = "5"

type errorBody struct {
	Error  string   `json:"error"`
	Fields []string `json:"fields,omitempty"`
	// State accompanies a 409 (and a 503 from the finance API), so the
	// caller sees why the remediation cannot take a decision.
	State string `json:"state,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// writeBadRequest answers 400 naming the fields at fault; fields is never
// null so that a caller can always iterate it.
func writeBadRequest(w http.ResponseWriter, msg string, fields []string) {
	if fields == nil {
		fields = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(struct {
		Error  string   `json:"error"`
		Fields []string `json:"fields"`
	}{msg, fields})
}

// temporalFailed answers a failed Temporal call: 503 with Retry-After when
// Temporal is unreachable, slow or overloaded (the caller retries), 500
// otherwise. Either way the body is a one-line JSON error: the details,
// never a stack, go to the log.
func (s *server) temporalFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	if temporalUnavailable(err) {
		s.logger.WarnContext(r.Context(), "Temporal unavailable", "operation", what, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeError(w, http.StatusServiceUnavailable, "Temporal is unavailable; retry later")
		return
	}
	s.logger.ErrorContext(r.Context(), "Temporal call failed", "operation", what, "error", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// temporalUnavailable reports whether err means "try again later": the
// server cannot be reached, did not answer in time, or shed load.
func temporalUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		canceled    *serviceerror.Canceled
	)
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) || errors.As(err, &canceled) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Canceled:
		return true
	}
	return false
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
