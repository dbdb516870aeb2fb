// Package paypalverify asks PayPal whether a webhook delivery is genuine:
// POST /v1/notifications/verify-webhook-signature with the delivery's
// transmission headers, the webhook's ID and the event exactly as
// received. PayPal signs with a certificate only it can vouch for, so the
// starter never trusts an event PayPal has not verified.
package paypalverify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The transmission headers PayPal sends with every webhook delivery.
const (
	HeaderTransmissionID   = "PAYPAL-TRANSMISSION-ID"
	HeaderTransmissionTime = "PAYPAL-TRANSMISSION-TIME"
	HeaderTransmissionSig  = "PAYPAL-TRANSMISSION-SIG"
	HeaderCertURL          = "PAYPAL-CERT-URL"
	HeaderAuthAlgo         = "PAYPAL-AUTH-ALGO"
)

// ErrUnavailable: PayPal could not say (unreachable, 429, 5xx, its token
// endpoint down). The delivery is neither accepted nor refused: the
// starter answers 503 so PayPal sends it again.
var ErrUnavailable = errors.New("PayPal could not verify the webhook now")

// Config is the REST app the starter asks with, and its webhook.
type Config struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
	WebhookID    string
	// HTTP makes the calls; its Timeout bounds the token requests.
	HTTP *http.Client
}

// Verifier asks PayPal, with an OAuth token it caches.
type Verifier struct {
	cfg   Config
	token *clientcredentials.Config

	mu     sync.Mutex
	source oauth2.TokenSource
}

// New builds a Verifier; nothing is fetched until the first Verify.
func New(cfg Config) *Verifier {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	v := &Verifier{cfg: cfg, token: &clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		TokenURL:  cfg.BaseURL + "/v1/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader,
	}}
	v.source = v.newSource()
	return v
}

// newSource is a fresh token cache: oauth2's, which renews a token ten
// seconds before it expires.
func (v *Verifier) newSource() oauth2.TokenSource {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, v.cfg.HTTP)
	return v.token.TokenSource(ctx)
}

// request is verify-webhook-signature's body.
type request struct {
	AuthAlgo         string          `json:"auth_algo"`
	CertURL          string          `json:"cert_url"`
	TransmissionID   string          `json:"transmission_id"`
	TransmissionSig  string          `json:"transmission_sig"`
	TransmissionTime string          `json:"transmission_time"`
	WebhookID        string          `json:"webhook_id"`
	WebhookEvent     json.RawMessage `json:"webhook_event"`
}

// Verify reports whether PayPal vouches for the delivery (verification
// status SUCCESS). false with a nil error is a delivery to refuse: a
// header missing, an event that is not JSON, FAILURE, or PayPal refusing
// the question (a 4xx other than 401 and 429). ErrUnavailable (wrapped)
// means ask again later.
func (v *Verifier) Verify(ctx context.Context, h http.Header, event []byte) (bool, error) {
	req := request{
		AuthAlgo:         h.Get(HeaderAuthAlgo),
		CertURL:          h.Get(HeaderCertURL),
		TransmissionID:   h.Get(HeaderTransmissionID),
		TransmissionSig:  h.Get(HeaderTransmissionSig),
		TransmissionTime: h.Get(HeaderTransmissionTime),
		WebhookID:        v.cfg.WebhookID,
		WebhookEvent:     json.RawMessage(event),
	}
	for _, s := range []string{req.AuthAlgo, req.CertURL, req.TransmissionID, req.TransmissionSig, req.TransmissionTime, req.WebhookID} {
		if strings.TrimSpace(s) == "" {
			return false, nil
		}
	}
	if !json.Valid(event) || !bytes.HasPrefix(bytes.TrimSpace(event), []byte("{")) {
		return false, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return false, nil
	}
	for attempt := 1; ; attempt++ {
		v.mu.Lock()
		source := v.source
		v.mu.Unlock()
		tok, err := source.Token()
		if err != nil {
			return false, fmt.Errorf("%w: token: %s", ErrUnavailable, tokenError(err))
		}
		status, verified, err := v.ask(ctx, tok.AccessToken, body)
		switch {
		case err != nil:
			return false, err
		case status == http.StatusUnauthorized && attempt == 1:
			// The cached token was revoked or rotated: one new token, one
			// more try.
			v.mu.Lock()
			if v.source == source {
				v.source = v.newSource()
			}
			v.mu.Unlock()
			continue
		case status == http.StatusUnauthorized, status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
			return false, fmt.Errorf("%w: verify-webhook-signature answered %d", ErrUnavailable, status)
		}
		return verified, nil
	}
}

// ask posts the question once: the status, and whether a 200 said SUCCESS.
func (v *Verifier) ask(ctx context.Context, token string, body []byte) (int, bool, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, v.cfg.BaseURL+"/v1/notifications/verify-webhook-signature", bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTP.Do(r)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, false, nil
	}
	var answer struct {
		VerificationStatus string `json:"verification_status"`
	}
	if json.Unmarshal(raw, &answer) != nil {
		return resp.StatusCode, false, fmt.Errorf("%w: verify-webhook-signature answered 200 without a verification_status", ErrUnavailable)
	}
	return resp.StatusCode, answer.VerificationStatus == "SUCCESS", nil
}

// tokenError names a failed token request by status and OAuth error code
// only: the endpoint's body is not quoted.
func tokenError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Sprintf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)
	}
	return "token endpoint unreachable"
}
