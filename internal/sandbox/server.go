// Package sandbox is the outside world for tests and `make dev`: the ERP and
// Stripe-shaped gateways with their OAuth token endpoint and the Genesys Cloud
// calls of the contract. Its Ledger records everything it receives and is the
// one type every harness reads it through (GET /sandbox/ledger).
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refundflow/refundflow/internal/pci"
)

// Config is the sandbox's settings, read from REFUNDFLOW_* (see main.go,
// where each also has a flag). Every fault defaults to off: the sandbox
// misbehaves only when told to.
type Config struct {
	Addr    string `envconfig:"SANDBOX_ADDR" default:":8090" desc:"listen address of the sandbox"`
	Clients string `envconfig:"SANDBOX_CLIENTS" default:"sandbox-gateway:sandbox-gateway-secret,sandbox-genesys:sandbox-genesys-secret" desc:"OAuth clients it accepts, as id:secret,..."`
	// TokenTTL is short on purpose, so that callers' token refresh runs.
	TokenTTL time.Duration `envconfig:"SANDBOX_TOKEN_TTL" default:"60s" desc:"lifetime of the access tokens it issues"`
	// TokenExpireEvery revokes the caller's token on every Nth authenticated
	// call (answered 401), as a gateway rotating keys would.
	TokenExpireEvery int     `envconfig:"SANDBOX_TOKEN_EXPIRE_EVERY" default:"0" desc:"revoke the caller's token on every Nth authenticated call (0: never)"`
	Fault5xx         float64 `envconfig:"SANDBOX_FAULT_5XX" default:"0" desc:"share of gateway calls answered 500/502/503 (0-1)"`
	Fault429         float64 `envconfig:"SANDBOX_FAULT_429" default:"0" desc:"share of gateway calls answered 429 with Retry-After (0-1)"`
	Fault422         float64 `envconfig:"SANDBOX_FAULT_422" default:"0" desc:"share of new refunds answered a final 422 (0-1)"`
	// FaultHang records the refund and then answers only after HangFor, past
	// the caller's timeout: the retry must be replayed, not refunded again.
	FaultHang float64       `envconfig:"SANDBOX_FAULT_HANG" default:"0" desc:"share of new refunds recorded and then answered after SANDBOX_HANG_FOR (0-1)"`
	HangFor   time.Duration `envconfig:"SANDBOX_HANG_FOR" default:"20s" desc:"how long a hanging call waits before it answers"`
	// GenesysFault5xx fails Genesys calls the way Genesys behind a load
	// balancer does: a 503 before anything happens, except that a workitem
	// creation is stored first and then answered 504. Only a caller that
	// looks its workitem up before creating one keeps it to one.
	GenesysFault5xx float64 `envconfig:"SANDBOX_GENESYS_FAULT_5XX" default:"0" desc:"share of Genesys calls answered 503 (a workitem creation: stored, then 504) (0-1)"`
	// IgnoreIdempotencyKey breaks the gateway on purpose: every call that
	// gets through creates a new refund. It exists to prove that the chaos
	// run's double-refund check can fail; never set it otherwise.
	IgnoreIdempotencyKey bool          `envconfig:"SANDBOX_IGNORE_IDEMPOTENCY_KEY" default:"false" desc:"sabotage: create a refund on every call, ignoring the Idempotency-Key (proves the chaos check can fail)"`
	RetryAfter           time.Duration `envconfig:"SANDBOX_RETRY_AFTER" default:"1s" desc:"Retry-After sent with a 429 (whole seconds)"`
	Seed                 uint64        `envconfig:"SANDBOX_SEED" default:"0" desc:"seed of the fault dice (0: random)"`
	// SettleAfter is how long a PENDING-/PENDFAIL- refund stays pending
	// and a REVERSE- one stays succeeded before it is reversed.
	SettleAfter time.Duration `envconfig:"SANDBOX_SETTLE_AFTER" default:"2s" desc:"how long a PENDING-/PENDFAIL- refund stays pending before it succeeds/fails, and a REVERSE- one succeeded before it is reversed"`
	// ReverseAfter, when set, is how long a refund that succeeded at once
	// stays succeeded before it is reversed (or fails): long enough and
	// the remediation has closed, so the word reopens it.
	ReverseAfter time.Duration `envconfig:"SANDBOX_REVERSE_AFTER" desc:"how long a REVERSE- refund (and Adyen's RFAIL...) stays succeeded before it is reversed or fails; empty: SETTLE_AFTER"`
	// WebhookURL is the starter the gateway's webhooks go to; without it
	// the events are recorded as unsent and only the worker's polls settle.
	WebhookURL        string        `envconfig:"SANDBOX_WEBHOOK_URL" desc:"base URL of the starter the gateway webhooks are posted to (<url>/v1/gateway-events/erp); empty: none sent"`
	GatewayEventToken string        `envconfig:"SANDBOX_GATEWAY_EVENT_TOKEN" desc:"Bearer token of the ERP webhooks: one of the starter's REFUNDFLOW_GATEWAY_EVENT_TOKENS"`
	WebhookDelay      time.Duration `envconfig:"SANDBOX_WEBHOOK_DELAY" default:"3s" desc:"how late a delayed webhook is sent"`
	// The webhook faults: shares of events, each 0-1.
	WebhookFaultDrop         float64 `envconfig:"SANDBOX_WEBHOOK_FAULT_DROP" default:"0" desc:"share of webhook events never sent (0-1)"`
	WebhookFaultDuplicate    float64 `envconfig:"SANDBOX_WEBHOOK_FAULT_DUPLICATE" default:"0" desc:"share of webhook events sent twice (0-1)"`
	WebhookFaultReorder      float64 `envconfig:"SANDBOX_WEBHOOK_FAULT_REORDER" default:"0" desc:"share of webhook events held back until after the refund's next event (0-1)"`
	WebhookFaultDelay        float64 `envconfig:"SANDBOX_WEBHOOK_FAULT_DELAY" default:"0" desc:"share of webhook events sent SANDBOX_WEBHOOK_DELAY late (0-1)"`
	WebhookFaultBadSignature float64 `envconfig:"SANDBOX_WEBHOOK_FAULT_BAD_SIGNATURE" default:"0" desc:"share of webhook events sent with a wrong token, to be refused (0-1)"`
	// The Stripe side (stripe.go): the secret keys it accepts, and the
	// secret its webhooks are signed with (one of the starter's
	// REFUNDFLOW_STRIPE_WEBHOOK_SECRETS).
	StripeAPIKeys       string `envconfig:"SANDBOX_STRIPE_API_KEYS" default:"sk_test_123" desc:"secret keys (sk_...) the sandbox's Stripe side accepts, comma-separated"`
	StripeWebhookSecret string `envconfig:"SANDBOX_STRIPE_WEBHOOK_SECRET" desc:"secret the Stripe webhooks are signed with (Stripe-Signature): one of the starter's REFUNDFLOW_STRIPE_WEBHOOK_SECRETS"`
	// The Adyen side (adyen.go): the API keys and merchant account it
	// accepts, the HMAC key its webhooks are signed with (one of the
	// starter's REFUNDFLOW_ADYEN_HMAC_KEYS) and their Basic auth.
	AdyenAPIKeys         string `envconfig:"SANDBOX_ADYEN_API_KEYS" default:"sandbox-adyen-api-key" desc:"API keys (X-API-Key) the sandbox's Adyen side accepts, comma-separated"`
	AdyenMerchantAccount string `envconfig:"SANDBOX_ADYEN_MERCHANT_ACCOUNT" default:"SandboxMerchantECOM" desc:"the one merchant account the sandbox's Adyen side knows"`
	AdyenHMACKey         string `envconfig:"SANDBOX_ADYEN_HMAC_KEY" desc:"hex HMAC key the Adyen webhooks are signed with: one of the starter's REFUNDFLOW_ADYEN_HMAC_KEYS; empty: sent unsigned"`
	AdyenWebhookUsername string `envconfig:"SANDBOX_ADYEN_WEBHOOK_USERNAME" desc:"Basic auth user name of the Adyen webhooks (the starter's REFUNDFLOW_ADYEN_WEBHOOK_USERNAME); empty: none"`
	AdyenWebhookPassword string `envconfig:"SANDBOX_ADYEN_WEBHOOK_PASSWORD" desc:"Basic auth password of the Adyen webhooks"`

	// PayPalWebhookID is the webhook its PayPal side signs for (the
	// starter's REFUNDFLOW_PAYPAL_WEBHOOK_ID): verify-webhook-signature
	// answers SUCCESS only for it.
	PayPalWebhookID string `envconfig:"SANDBOX_PAYPAL_WEBHOOK_ID" default:"SANDBOXWEBHOOK01" desc:"webhook ID the PayPal side's webhooks are for (verify-webhook-signature answers SUCCESS only for it): the starter's REFUNDFLOW_PAYPAL_WEBHOOK_ID"`

	// GenesysRateLimit is Genesys's limit per OAuth client (genesysratelimit.go).
	GenesysRateLimit int    `envconfig:"SANDBOX_GENESYS_RATE_LIMIT" default:"300" desc:"Genesys requests each OAuth client may make in any minute, then 429 with Retry-After (0: no limit)"`
	StateFile        string `envconfig:"SANDBOX_STATE_FILE" desc:"file the ledger is saved to and loaded from, so idempotency keys survive a restart"`
	LogLevel         string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// Server stands in for the ERP/payment gateway, its OAuth server and the
// Genesys Cloud API. One mutex guards everything: it is a test double, and
// holding the lock across "look up the key, then record" is exactly what
// makes a repeated Idempotency-Key replay instead of refunding twice.
type Server struct {
	cfg     Config
	clients map[string]string // client id -> secret
	log     *slog.Logger
	now     func() time.Time
	// sleep waits for d or until done closes; tests replace it.
	sleep func(d time.Duration, done <-chan struct{})

	mu        sync.Mutex
	ledger    *Ledger
	tokens    map[string]token
	authCalls int
	dice      *mathrand.Rand
	dirty     bool
	// genesysCalls holds, per OAuth client, when its Genesys calls of the
	// last minute came (the rate limit's window).
	genesysCalls map[string][]time.Time

	webhookClient *http.Client
}

// New builds a sandbox from its configuration.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	clients, err := parseClients(cfg.Clients)
	if err != nil {
		return nil, err
	}
	for name, rate := range map[string]float64{"5xx": cfg.Fault5xx, "429": cfg.Fault429, "422": cfg.Fault422, "hang": cfg.FaultHang, "genesys 5xx": cfg.GenesysFault5xx,
		"webhook drop": cfg.WebhookFaultDrop, "webhook duplicate": cfg.WebhookFaultDuplicate, "webhook reorder": cfg.WebhookFaultReorder,
		"webhook delay": cfg.WebhookFaultDelay, "webhook bad signature": cfg.WebhookFaultBadSignature} {
		if rate < 0 || rate > 1 {
			return nil, fmt.Errorf("fault rate %s = %v: want 0 to 1", name, rate)
		}
	}
	if cfg.Fault5xx+cfg.Fault429 > 1 {
		return nil, fmt.Errorf("fault rates 5xx + 429 exceed 1")
	}
	if cfg.WebhookFaultDrop+cfg.WebhookFaultDuplicate+cfg.WebhookFaultReorder+cfg.WebhookFaultDelay+cfg.WebhookFaultBadSignature > 1 {
		return nil, fmt.Errorf("webhook fault rates exceed 1 together")
	}
	if cfg.SettleAfter < 0 || cfg.WebhookDelay < 0 || cfg.ReverseAfter < 0 {
		return nil, fmt.Errorf("settle-after and webhook delay must not be negative")
	}
	if cfg.GenesysRateLimit < 0 {
		return nil, fmt.Errorf("genesys rate limit %d: want 0 (none) or more", cfg.GenesysRateLimit)
	}
	if cfg.TokenTTL <= 0 {
		return nil, fmt.Errorf("token TTL must be positive")
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = mathrand.Uint64()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:     cfg,
		clients: clients,
		log:     logger,
		now:     time.Now,
		sleep: func(d time.Duration, done <-chan struct{}) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-done:
			}
		},
		ledger:        NewLedger(),
		tokens:        map[string]token{},
		genesysCalls:  map[string][]time.Time{},
		webhookClient: &http.Client{Timeout: 5 * time.Second},
		dice:          mathrand.New(mathrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}, nil
}

func parseClients(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(spec, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, secret, ok := strings.Cut(pair, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("OAuth client %q: want id:secret", pair)
		}
		out[id] = secret
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no OAuth clients configured")
	}
	return out, nil
}

// Handler routes every endpoint the sandbox serves.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", s.issueToken)

	mux.HandleFunc("POST /erp/refunds", s.gatewaySubmit(kindRefund))
	mux.HandleFunc("POST /erp/chargebacks", s.gatewaySubmit(kindChargeback))
	mux.HandleFunc("GET /erp/refunds/{id}", s.refundStatus(kindRefund))
	mux.HandleFunc("GET /erp/chargebacks/{id}", s.refundStatus(kindChargeback))

	mux.HandleFunc("PATCH /api/v2/conversations/calls/{conversationId}/participants/{participantId}/attributes", s.genesysAPI(s.updateAttributes))
	mux.HandleFunc("POST /api/v2/conversations/calls/{conversationId}/participants/{participantId}/communications/{communicationId}/wrapup", s.genesysAPI(s.setWrapup))
	mux.HandleFunc("POST /api/v2/taskmanagement/workitems/query", s.genesysAPI(s.queryWorkitems))
	mux.HandleFunc("POST /api/v2/taskmanagement/workitems", s.genesysAPI(s.createWorkitem))
	mux.HandleFunc("GET /api/v2/taskmanagement/workitems/{workitemId}", s.genesysAPI(s.getWorkitem))
	mux.HandleFunc("PATCH /api/v2/taskmanagement/workitems/{workitemId}", s.genesysAPI(s.updateWorkitem))
	mux.HandleFunc("GET /api/v2/taskmanagement/worktypes/{worktypeId}/statuses", s.genesysAPI(s.listWorktypeStatuses))
	mux.HandleFunc("POST /api/v2/conversations/emails/agentless", s.genesysAPI(s.sendAgentlessEmail))

	mux.Handle(stripePrefix+"/", s.stripeHandler())
	mux.Handle(adyenPrefix+"/", s.adyenHandler())
	mux.Handle(paypalPrefix+"/", s.paypalHandler())
	mux.HandleFunc("POST /sandbox/paypal/expire-request-ids", s.expirePayPalRequestIDs)

	mux.HandleFunc("GET /sandbox/ledger", s.showLedger)
	mux.HandleFunc("GET /sandbox/ledger/{transactionId}", s.showTransaction)
	mux.HandleFunc("DELETE /sandbox/ledger", s.resetLedger)
	mux.HandleFunc("POST /sandbox/ledger/entries", s.plantEntry)
	mux.HandleFunc("POST /sandbox/heal/{transactionId}", s.heal)
	mux.HandleFunc("POST /sandbox/genesys/workitems/{workitemId}/status", s.setWorkitemStatusAsUser)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s.logRequests(s.screenCardData(mux))
}

// maxBody bounds every request body the sandbox reads.
const maxBody = 1 << 20

// logRequests writes one line per request: never a header or a body, so no
// token or secret reaches the log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// forcedFault reads X-Sandbox-Fail: a status code from 400 to 599, or "hang".
// It lets a developer make one call fail with curl, without any rule.
func forcedFault(r *http.Request) (status int, hang bool, err error) {
	v := strings.TrimSpace(r.Header.Get("X-Sandbox-Fail"))
	if v == "" {
		return 0, false, nil
	}
	if strings.EqualFold(v, "hang") {
		return 0, true, nil
	}
	code, convErr := strconv.Atoi(v)
	if convErr != nil || code < 400 || code > 599 {
		return 0, false, fmt.Errorf("X-Sandbox-Fail %q: want a status from 400 to 599, or hang", v)
	}
	return code, false, nil
}

// roll reports whether a fault with the given rate happens now. Callers hold mu.
func (s *Server) roll(rate float64) bool {
	return rate > 0 && s.dice.Float64() < rate
}

func (s *Server) retryAfterSeconds() string {
	secs := int(s.cfg.RetryAfter.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// newID returns prefix followed by 24 random hex digits. About one such id
// in a thousand holds a Luhn-valid run of 13 or more decimal digits
// ("rf_8134843355956555a7c58dbb"); the service passes gateway references on
// to Genesys, where the card-data screen would count it, so such an id is
// drawn again: a gateway's references are not card-shaped.
func newID(prefix string) string {
	for {
		var b [12]byte
		_, _ = rand.Read(b[:])
		if id := prefix + hex.EncodeToString(b[:]); !pci.ContainsCardNumber(id) {
			return id
		}
	}
}

// newUUID returns a random RFC 4122 version 4 UUID, the shape of Genesys ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
