package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// maxResponseBody bounds what is read of any answer; the useful part of an
// error is at its start and a success is a small JSON object.
const maxResponseBody = 1 << 20

// NewHTTPClient returns a client for one remote, built once by main and
// shared by every activity so connections are reused. Redirects are not
// followed: a POST that moves a refund elsewhere is a configuration error to
// look at, not something to chase (and Go would drop the Authorization
// header on the way anyway).
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The worker runs many activities at once against one host per remote;
	// the default of 2 idle connections per host would make most of them
	// open a new TLS connection.
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = timeout
	return &http.Client{
		Transport: t,
		// Each call also has its own context deadline; this bounds the token
		// requests, which run outside any activity's context.
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// apiClient is one remote as the activities see it: authenticated requests
// with a per-call timeout, one new token and one more try on a 401, and every
// failure classified into an ApplicationError at this edge.
type apiClient struct {
	http    *http.Client
	creds   credentials
	timeout time.Duration
	remote  remote
	logger  *slog.Logger
	// classify turns a non-2xx answer into a failure; nil applies the
	// contract's generic rule (classifyStatus).
	classify func(remote, *response) failure
	// authorize puts the credential on a request; nil sends it as
	// Authorization: Bearer (Adyen takes its API key as X-API-Key).
	authorize func(h http.Header, token string)
}

// outgoing is one request; its body is a byte slice so the request can be
// sent a second time after a 401.
type outgoing struct {
	method      string
	url         string
	contentType string
	body        []byte
	header      http.Header
	// accept lists non-2xx statuses the caller handles itself: they come
	// back as a response, not as a failure.
	accept []int
}

// do sends the request and returns any 2xx answer. Everything else comes
// back as a *temporal.ApplicationError whose message starts with op.
func (c *apiClient) do(ctx context.Context, op string, out outgoing) (*response, error) {
	for attempt := 1; ; attempt++ {
		token, generation, f := c.creds.bearer(ctx)
		if f != nil {
			return nil, c.fail(op, *f, "")
		}
		resp, f := c.send(ctx, out, token)
		if f != nil {
			return nil, c.fail(op, *f, token)
		}
		switch {
		case resp.status == http.StatusUnauthorized:
			// The cached token may have been revoked or rotated before its
			// expiry: fetch a new one and try once more, within this activity.
			if attempt == 1 && c.creds.renew(generation) {
				c.logger.Info("token refused; fetching a new one and trying once more", "remote", c.remote.name, "op", op)
				continue
			}
			return nil, c.fail(op, authFailed(c.remote, attempt > 1), token)
		case (resp.status < 200 || resp.status > 299) && !slices.Contains(out.accept, resp.status):
			classify := c.classify
			if classify == nil {
				classify = classifyStatus
			}
			return nil, c.fail(op, classify(c.remote, resp), token)
		}
		return resp, nil
	}
}

func (c *apiClient) send(ctx context.Context, out outgoing, token string) (*response, *failure) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// Once the headers are out, the remote may act on the request even if
	// its answer never arrives. Counting from the headers rather than the
	// whole body errs on the side of "check the gateway before deciding".
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	var body io.Reader
	if out.body != nil {
		body = bytes.NewReader(out.body)
	}
	req, err := http.NewRequestWithContext(ctx, out.method, out.url, body)
	if err != nil {
		return nil, &failure{errType: ErrConfiguration, final: true, msg: fmt.Sprintf("%s request cannot be built (check the configured URL): %s", c.remote.name, sanitize(err.Error(), maxExcerpt))}
	}
	for k, vs := range out.header {
		req.Header[k] = vs
	}
	if c.authorize != nil {
		c.authorize(req.Header, token)
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "refundflow")
	if out.contentType != "" {
		req.Header.Set("Content-Type", out.contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		f := classifyTransport(c.remote, err, c.timeout, sent.Load())
		return nil, out.unlessRead(f)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody))
	if err != nil {
		f := classifyTransport(c.remote, fmt.Errorf("reading the answer to %s: %w", res.Status, err), c.timeout, true)
		return nil, out.unlessRead(f)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}, nil
}

// unlessRead clears "outcome unknown" from a failed read, whether it was cut
// off before the answer or in the middle of its body. A read moves no money:
// its loss leaves nothing to check at the gateway, and a warning would only
// teach finance to ignore the one that matters.
func (out outgoing) unlessRead(f failure) *failure {
	if out.method == http.MethodGet || out.method == http.MethodHead {
		f.outcomeUnknown = false
	}
	return &f
}

// fail scrubs the credentials (and the token just used, should a remote
// echo it) from the message, logs it and returns it as the ApplicationError
// the workflow's retry policy reads.
func (c *apiClient) fail(op string, f failure, token string) error {
	f.msg = op + ": " + f.msg
	for _, s := range append(c.creds.secrets(), token) {
		if s != "" {
			f.msg = strings.ReplaceAll(f.msg, s, "[redacted]")
		}
	}
	c.logger.Warn("remote call failed", "remote", c.remote.name, "op", op, "errorType", f.errType,
		"retryable", !f.final, "retryAfter", f.retryAfter, "error", f.msg)
	return f.applicationError()
}
