package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/refundflow/refundflow/internal/remediation"
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
// Temporal is unreachable, slow or overloaded, or is not set up for
// refundflow yet (a search attribute or the namespace is missing): in every
// such case the caller's retry succeeds once Temporal, or its operator, has
// caught up. 500 otherwise. Either way the body is a one-line JSON error:
// the details, never a stack, go to the log.
func (s *server) temporalFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	ctx := r.Context()
	attr := missingSearchAttribute(err)
	switch {
	case temporalUnavailable(err):
		s.logger.WarnContext(ctx, "Temporal unavailable", "operation", what, "error", err)
		writeUnavailable(w, "Temporal is unavailable; retry later")
	case attr != "":
		s.logger.ErrorContext(ctx, "Temporal namespace lacks a search attribute refundflow needs: register it, and the callers' retries start their workflows",
			"operation", what, "namespace", s.namespace, "searchAttribute", attr,
			"register", registerSearchAttributesCommand(s.namespace, attr),
			"registerAll", registerSearchAttributesCommand(s.namespace, remediation.SearchAttributeNames...),
			"error", err)
		writeUnavailable(w, "Temporal is not set up for this service yet; retry later")
	case namespaceMissing(err):
		s.logger.ErrorContext(ctx, "Temporal namespace does not exist: create it, with refundflow's search attributes, and the callers' retries succeed",
			"operation", what, "namespace", s.namespace,
			"create", "temporal operator namespace create --namespace "+s.namespace,
			"registerAll", registerSearchAttributesCommand(s.namespace, remediation.SearchAttributeNames...),
			"error", err)
		writeUnavailable(w, "Temporal is not set up for this service yet; retry later")
	default:
		s.logger.ErrorContext(ctx, "Temporal call failed", "operation", what, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// writeUnavailable answers 503 with Retry-After: retrying is always safe.
func writeUnavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", retryAfterSeconds)
	writeError(w, http.StatusServiceUnavailable, msg)
}

// temporalUnavailable reports whether err means "try again later": the
// server cannot be reached, did not answer in time, or shed load. The
// gRPC code decides, whatever Go type carries it: NamespaceUnavailable (a
// namespace failing over) is an Unavailable of its own type.
func temporalUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	switch serviceerror.ToStatus(err).Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Canceled:
		return true
	}
	return false
}

// noSearchAttribute is how the Temporal server words a start whose search
// attributes are not registered: "Namespace default has no mapping defined
// for search attribute TransactionId" with SQL visibility (the dev server),
// "search attribute TransactionId is not defined" with Elasticsearch.
var noSearchAttribute = regexp.MustCompile(`(?i)no mapping defined for search attribute ([A-Za-z0-9_-]+)|search attribute ([A-Za-z0-9_-]+) is not defined`)

// missingSearchAttribute returns the search attribute a refused start
// names as unregistered, or "". The server refuses with InvalidArgument,
// which is otherwise final; this one is the operator's to fix.
func missingSearchAttribute(err error) string {
	if serviceerror.ToStatus(err).Code() != codes.InvalidArgument {
		return ""
	}
	m := noSearchAttribute.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// namespaceMissing reports whether the configured namespace does not exist.
func namespaceMissing(err error) bool {
	var nf *serviceerror.NamespaceNotFound
	return errors.As(err, &nf)
}

// registerSearchAttributesCommand is the CLI command that registers names
// as the Keyword search attributes the contract defines.
func registerSearchAttributesCommand(namespace string, names ...string) string {
	var b strings.Builder
	b.WriteString("temporal operator search-attribute create --namespace " + namespace)
	for _, name := range names {
		b.WriteString(" --name " + name + " --type Keyword")
	}
	return b.String()
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
