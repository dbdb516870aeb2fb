package activities

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Credentials the fakes accept. They are distinctive so that a leak into an
// error or a log line is easy to find.
const (
	testClientID     = "refundflow-client"
	testClientSecret = "s3cret-Zq9-never-print"
	testTokenPrefix  = "at-Xk2-"
	testStripeKey    = "sk_test_51NeverPrintThisKey"
)

// oauthServer is a client-credentials token endpoint. It checks the request
// as Genesys and RFC 6749 want it (POST, Basic auth, grant_type) and hands
// out numbered tokens, so a test can tell which one a request carried.
type oauthServer struct {
	t         *testing.T
	expiresIn int
	// status, when set, is answered instead of a token.
	status  atomic.Int32
	fetches atomic.Int32
}

func newOAuthServer(t *testing.T, expiresIn int) *oauthServer {
	return &oauthServer{t: t, expiresIn: expiresIn}
}

func (o *oauthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.fetches.Add(1)
	if r.Method != http.MethodPost {
		o.t.Errorf("token request method = %s, want POST", r.Method)
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testClientSecret {
		o.t.Errorf("token request without the client's Basic auth (ok=%v id=%q)", ok, id)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		o.t.Errorf("token request Content-Type = %q", ct)
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		o.t.Errorf("token request grant_type = %q (%v)", r.PostForm.Get("grant_type"), err)
	}
	if r.PostForm.Has("client_secret") {
		o.t.Errorf("client secret sent in the body as well as in the header")
	}
	if s := o.status.Load(); s != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s))
		// A careless server echoing the secret must not leak it further.
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"bad secret %s"}`, testClientSecret)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"%s","token_type":"bearer","expires_in":%d}`, token(int(n)), o.expiresIn)
}

func token(n int) string { return fmt.Sprintf("%s%d", testTokenPrefix, n) }

// recorded is one request a fake received.
type recorded struct {
	method, path string
	header       http.Header
	body         string
}

func record(t *testing.T, r *http.Request) recorded {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read request body: %v", err)
	}
	return recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: string(body)}
}

// requests collects what a fake received, safely across handler goroutines.
type requests struct {
	mu   sync.Mutex
	list []recorded
}

func (q *requests) add(r recorded) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, r)
	return len(q.list)
}

func (q *requests) all() []recorded {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]recorded(nil), q.list...)
}

// logBuffer captures a logger's output for the no-secrets checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// appError insists that err is an *ApplicationError itself, not wrapped:
// the SDK reads the type and retryability only from the error an activity
// returns, and a wrapped one would be retried as a generic error.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	ae, ok := err.(*temporal.ApplicationError)
	if !ok {
		t.Fatalf("want a *temporal.ApplicationError, got %T: %v", err, err)
	}
	return ae
}

func wantFinal(t *testing.T, err error, errType ErrorType) *temporal.ApplicationError {
	t.Helper()
	ae := appError(t, err)
	if ae.Type() != string(errType) || !ae.NonRetryable() {
		t.Fatalf("want final %s, got type %s nonRetryable=%v: %v", errType, ae.Type(), ae.NonRetryable(), err)
	}
	return ae
}

func wantRetryable(t *testing.T, err error, errType ErrorType, delay time.Duration) *temporal.ApplicationError {
	t.Helper()
	ae := appError(t, err)
	if ae.Type() != string(errType) || ae.NonRetryable() {
		t.Fatalf("want retryable %s, got type %s nonRetryable=%v: %v", errType, ae.Type(), ae.NonRetryable(), err)
	}
	if ae.NextRetryDelay() != delay {
		t.Fatalf("NextRetryDelay = %s, want %s (%v)", ae.NextRetryDelay(), delay, err)
	}
	return ae
}

// noSecrets fails when any credential shows in s.
func noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testClientSecret, testTokenPrefix, testStripeKey} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains %q: %s", what, secret, s)
		}
	}
}

func wantHeader(t *testing.T, r recorded, name, want string) {
	t.Helper()
	if got := r.header.Get(name); got != want {
		t.Errorf("%s %s: header %s = %q, want %q", r.method, r.path, name, got, want)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorString(err error) string {
	if err == nil {
		return ""
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type() + ": " + err.Error()
	}
	return err.Error()
}
