package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenEarlyExpiry renews a token this long before it expires, so a token
// never runs out between being read and reaching the remote. A token that
// lives less than four times this is renewed after three quarters of its
// life instead (see renewingSource).
const tokenEarlyExpiry = 60 * time.Second

// credentials give a request its bearer token. A generation number ties a
// 401 to the token that caused it, so that many calls failing with the same
// stale token fetch one new token between them, not one each.
type credentials interface {
	bearer(ctx context.Context) (token string, generation uint64, f *failure)
	// renew drops the token of that generation; false when the credential
	// cannot be renewed (a static API key), so a 401 is final at once.
	renew(generation uint64) bool
	// secrets are values that must never appear in an error or log line.
	secrets() []string
}

// oauthCredentials is an OAuth 2.0 client-credentials token, cached and
// renewed early. The token lives only in this process: it is never returned
// from an activity, logged, or put into an error.
type oauthCredentials struct {
	conf   *clientcredentials.Config
	ctx    context.Context // carries the HTTP client the token requests use
	remote remote

	mu         sync.Mutex
	source     oauth2.TokenSource
	generation uint64
}

func newOAuthCredentials(tokenURL, clientID, clientSecret string, scopes []string, client *http.Client, r remote) *oauthCredentials {
	conf := &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     tokenURL,
		Scopes:       scopes,
		// Basic auth, as Genesys requires and RFC 6749 recommends; auto
		// detection would retry a refused secret a second time in the body.
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	// The token source outlives any one activity, so its requests cannot use
	// an activity's context; the client's own timeout bounds them instead.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	o := &oauthCredentials{conf: conf, ctx: ctx, remote: r}
	o.source = o.newSource()
	return o
}

// newSource is an empty cache in front of the token endpoint. It calls
// conf.Token, which always fetches, rather than conf.TokenSource, which
// caches too: two caches would share one *oauth2.Token and its expiry
// margin, and make each other's renewal decisions.
func (o *oauthCredentials) newSource() oauth2.TokenSource {
	return &renewingSource{fetch: func() (*oauth2.Token, error) { return o.conf.Token(o.ctx) }, now: time.Now}
}

func (o *oauthCredentials) bearer(ctx context.Context) (string, uint64, *failure) {
	if err := ctx.Err(); err != nil {
		f := classifyTransport(o.remote, err, 0, false)
		return "", 0, &f
	}
	o.mu.Lock()
	source, generation := o.source, o.generation
	o.mu.Unlock()
	tok, err := source.Token()
	if err != nil {
		f := o.tokenFailure(err)
		return "", 0, &f
	}
	return tok.AccessToken, generation, nil
}

func (o *oauthCredentials) renew(generation uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if generation == o.generation {
		o.source = o.newSource()
		o.generation++
	}
	return true
}

func (o *oauthCredentials) secrets() []string { return []string{o.conf.ClientSecret} }

// tokenFailure classifies a failed token request like any other call: the
// token endpoint refusing the client is final (AuthFailed), the endpoint
// being down is retried. The endpoint's raw body is not quoted: only its
// OAuth error code, which carries no secret.
func (o *oauthCredentials) tokenFailure(err error) failure {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		code := re.Response.StatusCode
		detail := ""
		if re.ErrorCode != "" {
			detail = " (" + sanitize(re.ErrorCode, 60) + ")"
		}
		msg := fmt.Sprintf("%s token endpoint answered %s%s", o.remote.name, statusText(code), detail)
		if retryableStatus(code) {
			return failure{errType: o.remote.unavailable, retryAfter: retryAfter(re.Response.Header, time.Now()), msg: msg}
		}
		return failure{errType: ErrAuthFailed, final: true, msg: msg + ": check the client id and secret"}
	}
	return failure{errType: o.remote.unavailable, msg: fmt.Sprintf("%s token endpoint: %s", o.remote.name, sanitize(err.Error(), maxExcerpt))}
}

// staticKey is a fixed API key (Stripe). A 401 cannot be cured by asking
// again, so it is final at once.
type staticKey struct{ key string }

func (s staticKey) bearer(context.Context) (string, uint64, *failure) { return s.key, 0, nil }
func (s staticKey) renew(uint64) bool                                 { return false }
func (s staticKey) secrets() []string                                 { return []string{s.key} }
