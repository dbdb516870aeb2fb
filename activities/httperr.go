package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/refundflow/refundflow/internal/pci"
)

// This file is the one place where what a remote answered becomes retryable
// or final. The workflow's retry policies only read the error types chosen
// here; nothing upstream looks at HTTP status codes.

const (
	// maxExcerpt bounds the part of a response body quoted in an error: the
	// message lands in workflow history and in front of finance ops.
	maxExcerpt = 200
	// maxRetryAfter caps a remote's Retry-After. The retry window still
	// bounds the whole submission; the cap only keeps a nonsense header from
	// parking an activity for days.
	maxRetryAfter = time.Hour
)

// remote names a peer in messages and says which error types its failures
// carry.
type remote struct {
	name        string
	unavailable ErrorType
	rejected    ErrorType
	// moneyMoves marks the gateway: a call to it that went out unanswered
	// carries SubmissionFailure{OutcomeUnknown} for the workflow to read.
	moneyMoves bool
}

func gatewayRemote(name string) remote {
	return remote{name: name, unavailable: ErrGatewayUnavailable, rejected: ErrGatewayRejected, moneyMoves: true}
}

func genesysRemote() remote {
	return remote{name: "Genesys", unavailable: ErrGenesysUnavailable, rejected: ErrGenesysRejected}
}

// failure is a classified failure before it becomes an ApplicationError, so
// the client can scrub secrets from the message on the way out.
type failure struct {
	errType    ErrorType
	final      bool
	retryAfter time.Duration
	msg        string
	// outcomeUnknown: the request went out and no answer came back, so the
	// remote may have acted on it.
	outcomeUnknown bool
}

func (f failure) applicationError() error {
	opts := temporal.ApplicationErrorOptions{
		NonRetryable:   f.final,
		NextRetryDelay: f.retryAfter,
	}
	if f.outcomeUnknown {
		opts.Details = []any{SubmissionFailure{OutcomeUnknown: true}}
	}
	return temporal.NewApplicationErrorWithOptions(f.msg, string(f.errType), opts)
}

// response is a remote's answer, its body already read (and bounded).
type response struct {
	status int
	header http.Header
	body   []byte
}

// retryableStatus is the contract's list: the remote may answer differently
// later.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// classifyStatus applies the contract to a non-2xx answer (401 is handled
// before, by fetching a new token): 408, 429 and 5xx are retried, honouring
// Retry-After; any other status is final.
func classifyStatus(r remote, resp *response) failure {
	msg := fmt.Sprintf("%s answered %s%s", r.name, statusText(resp.status), quoteExcerpt(resp.body))
	if retryableStatus(resp.status) {
		return failure{errType: r.unavailable, retryAfter: retryAfter(resp.header, time.Now()), msg: msg}
	}
	return failure{errType: r.rejected, final: true, msg: msg}
}

// classifyTransport turns an error from http.Client.Do (or from reading the
// body) into a retryable failure. Retrying is safe because every gateway
// call carries its Idempotency-Key and every Genesys call is idempotent or
// looked up first. sent says the request had gone out when the call
// failed: the remote may then have acted on it (a refund made, its answer
// lost), which finance ops must be told before they decide.
func classifyTransport(r remote, err error, timeout time.Duration, sent bool) failure {
	what := "could not be reached"
	if sent {
		what = "cut the connection after the request was sent"
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		what = "did not answer within " + timeout.String()
		if sent {
			what += " after the request was sent"
		}
	}
	return failure{errType: r.unavailable, outcomeUnknown: sent && r.moneyMoves,
		msg: fmt.Sprintf("%s %s: %s", r.name, what, sanitize(err.Error(), maxExcerpt))}
}

// authFailed is a 401 that a new token did not cure.
func authFailed(r remote, refreshed bool) failure {
	msg := r.name + " answered 401 Unauthorized"
	if refreshed {
		msg += " again with a newly fetched token"
	}
	return failure{errType: ErrAuthFailed, final: true, msg: msg + ": check the client credentials and their permissions"}
}

// retryAfter reads Retry-After as seconds or as an HTTP date. Zero means
// none, and lets the retry policy's backoff decide.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return strconv.Itoa(code)
}

func quoteExcerpt(body []byte) string {
	if s := sanitize(string(body), maxExcerpt); s != "" {
		return ": " + s
	}
	return ""
}

// sanitize makes text fit for an error message, a log line or a review:
// valid UTF-8 on one line, no control characters, card numbers masked,
// bearer credentials removed, at most limit runes (an ellipsis included).
func sanitize(s string, limit int) string {
	return truncate(pci.Mask(unredacted(s)), limit)
}

// sanitizeReference is sanitize for a gateway's own reference (rf_...,
// re_..., a pspReference): it is no free text, so only a real card number
// in it (Luhn-valid) is masked. Masking every long run of digits, as
// sanitize does, would hide from finance the one thing they search the
// gateway's dashboard by.
func sanitizeReference(s string, limit int) string {
	s = unredacted(s)
	if pci.ContainsCardNumber(s) {
		s = pci.Mask(s)
	}
	return truncate(s, limit)
}

// unredacted is s as one line of valid UTF-8 with any bearer token taken
// out.
func unredacted(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	words := strings.Fields(s)
	for i := 0; i+1 < len(words); i++ {
		// A remote that echoes "Authorization: Bearer xyz" must not carry
		// the token into history.
		if strings.HasSuffix(strings.ToLower(strings.TrimRight(words[i], `"':=`)), "bearer") {
			words[i+1] = "[redacted]"
		}
	}
	return strings.Join(words, " ")
}

func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:max(limit-3, 0)]) + "..."
	}
	return s
}
