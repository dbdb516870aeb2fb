package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/refundflow/refundflow/internal/adyensig"
	"github.com/refundflow/refundflow/internal/codec"
	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

// envPrefix is the prefix of every variable: REFUNDFLOW_LISTEN_ADDR, ...
const envPrefix = "refundflow"

// Config is everything the starter reads, all from REFUNDFLOW_* variables.
// main loads it once and hands the parts to what needs them.
type Config struct {
	temporalclient.Config

	ListenAddr    string   `envconfig:"LISTEN_ADDR" default:":8080" desc:"host:port the HTTP API listens on"`
	WebhookTokens []string `envconfig:"WEBHOOK_TOKENS" required:"true" desc:"comma-separated tokens accepted on POST /v1/dispositions (Bearer, or the Basic password); several allow rotation"`
	// ApproverTokens is "name:token,..."; the name is recorded as the approver.
	ApproverTokens  string        `envconfig:"APPROVER_TOKENS" desc:"finance approvers as name:token,...; the name is recorded with each decision; empty disables the finance API"`
	Dispositions    string        `envconfig:"DISPOSITIONS" default:"Refund_Processed=refund,Chargeback_Requested=chargeback,Escalation_Sent=review" desc:"financial wrap-up codes as Code=refund|chargeback|review,...; any other code is ignored"`
	DefaultCurrency string        `envconfig:"DEFAULT_CURRENCY" default:"USD" desc:"ISO 4217 currency of a disposition that names none"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	StartTimeout    time.Duration `envconfig:"TEMPORAL_START_TIMEOUT" default:"5s" desc:"how long one request may wait for Temporal before answering 503"`
	// CodecOrigins are the Temporal UI origins allowed to call /codec.
	CodecOrigins []string `envconfig:"CODEC_CORS_ORIGINS" default:"http://localhost:8233" desc:"browser origins (the Temporal UI) allowed to call the codec server at /codec, comma-separated"`
	// GatewayEventTokens and StripeWebhookSecrets verify the gateways'
	// webhooks; several allow rotation.
	GatewayEventTokens   []string `envconfig:"GATEWAY_EVENT_TOKENS" desc:"comma-separated Bearer tokens accepted on POST /v1/gateway-events/erp; empty refuses every ERP event"`
	StripeWebhookSecrets []string `envconfig:"STRIPE_WEBHOOK_SECRETS" desc:"comma-separated Stripe webhook signing secrets (whsec_...) for POST /v1/gateway-events/stripe; empty refuses every Stripe event"`
	// Adyen's webhooks: each item's HMAC key (hex, from the Customer Area),
	// and the optional Basic auth set on the webhook.
	AdyenHMACKeys        []string `envconfig:"ADYEN_HMAC_KEYS" desc:"comma-separated Adyen webhook HMAC keys (hex) for POST /v1/gateway-events/adyen; empty refuses every Adyen event"`
	AdyenWebhookUsername string   `envconfig:"ADYEN_WEBHOOK_USERNAME" desc:"Basic auth user name Adyen's webhooks must carry (optional; set with ADYEN_WEBHOOK_PASSWORD)"`
	AdyenWebhookPassword string   `envconfig:"ADYEN_WEBHOOK_PASSWORD" desc:"Basic auth password Adyen's webhooks must carry; never logged"`

	// MetricsAddress is a listener of its own, apart from the API, so
	// /metrics need not be reachable from Genesys or the internet.
	MetricsAddress        string        `envconfig:"METRICS_ADDRESS" desc:"host:port of GET /metrics (Prometheus text), apart from the API; empty turns metrics off"`
	ReviewMetricsInterval time.Duration `envconfig:"REVIEW_METRICS_INTERVAL" default:"1m" desc:"how often the review-queue gauges are refreshed from visibility (with metrics on)"`

	// PayPal's webhooks are verified by PayPal itself
	// (verify-webhook-signature), asked with the starter's own REST app
	// credentials: the same variables as the worker's.
	PayPalWebhookConfig
}

// PayPalWebhookConfig is what POST /v1/gateway-events/paypal asks PayPal with.
type PayPalWebhookConfig struct {
	BaseURL      string `envconfig:"PAYPAL_BASE_URL" default:"https://api-m.paypal.com" desc:"PayPal REST API base the webhooks are verified at (https://api-m.sandbox.paypal.com for PayPal's sandbox, <sandbox>/paypal locally)"`
	ClientID     string `envconfig:"PAYPAL_CLIENT_ID" desc:"PayPal REST app client id the webhooks are verified with"`
	ClientSecret string `envconfig:"PAYPAL_CLIENT_SECRET" desc:"PayPal REST app secret; never logged"`
	WebhookID    string `envconfig:"PAYPAL_WEBHOOK_ID" desc:"ID of the webhook PayPal posts to POST /v1/gateway-events/paypal (developer dashboard); empty refuses every PayPal event"`
}

// settings is Config checked and parsed into what the handlers use.
type settings struct {
	webhook      tokenSet
	approvers    approverSet
	dispositions map[string]remediation.Action
	currency     string
	taskQueue    string
	namespace    string
	startTimeout time.Duration
	// codecKeys is nil when payload encryption is off (no /codec then).
	codecKeys    *codec.Keyring
	codecOrigins []string

	gatewayEvents tokenSet
	stripeSecrets [][]byte
	adyenHMACKeys [][]byte
	// adyenBasic is nil when Adyen's webhooks carry no Basic auth.
	adyenBasic *adyenBasicAuth
	// paypal verifies PayPal's webhooks; nil refuses them.
	paypal webhookVerifier
}

// loadConfig reads the environment. Errors name the variable at fault.
func loadConfig(cfg *Config) (settings, error) {
	if err := envconfig.Process(envPrefix, cfg); err != nil {
		return settings{}, explainEnvError(err)
	}
	return cfg.parse()
}

// explainEnvError names the full variable: envconfig's own messages say
// "required key WEBHOOK_TOKENS missing value", without the prefix.
func explainEnvError(err error) error {
	var perr *envconfig.ParseError
	if errors.As(err, &perr) {
		return fmt.Errorf("%s: cannot read %q as %s: %w", perr.KeyName, perr.Value, perr.TypeName, perr.Err)
	}
	if key, ok := strings.CutPrefix(err.Error(), "required key "); ok {
		key = strings.TrimSuffix(key, " missing value")
		return fmt.Errorf("%s_%s is required and not set", strings.ToUpper(envPrefix), key)
	}
	return err
}

func (c *Config) parse() (settings, error) {
	s := settings{taskQueue: c.TaskQueue, namespace: c.Namespace, startTimeout: c.StartTimeout, codecOrigins: c.CodecOrigins}
	var err error
	if s.codecKeys, err = c.Keys(); err != nil {
		return s, err
	}
	if s.webhook, err = parseTokens(c.WebhookTokens); err != nil {
		return s, fmt.Errorf("REFUNDFLOW_WEBHOOK_TOKENS: %w", err)
	}
	if s.approvers, err = parseApprovers(c.ApproverTokens); err != nil {
		return s, fmt.Errorf("REFUNDFLOW_APPROVER_TOKENS: %w", err)
	}
	// A token valid on both doors would let Genesys approve its own refunds
	// (or an approver forge dispositions): the two sets must not meet.
	for _, a := range s.approvers {
		if s.webhook.contains(a.token) {
			return s, fmt.Errorf("REFUNDFLOW_APPROVER_TOKENS: approver %q uses a token that is also in REFUNDFLOW_WEBHOOK_TOKENS", a.name)
		}
	}
	for _, t := range c.GatewayEventTokens {
		if t = strings.TrimSpace(t); t != "" {
			s.gatewayEvents = append(s.gatewayEvents, newSecret(t))
		}
	}
	for _, t := range s.gatewayEvents {
		// A gateway's token must open no other door.
		if s.webhook.contains(t) || s.approvers.has(t) {
			return s, errors.New("REFUNDFLOW_GATEWAY_EVENT_TOKENS: a token is also a webhook or approver token")
		}
	}
	for _, sec := range c.StripeWebhookSecrets {
		if sec = strings.TrimSpace(sec); sec != "" {
			s.stripeSecrets = append(s.stripeSecrets, []byte(sec))
		}
	}
	for _, k := range c.AdyenHMACKeys {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		key, err := adyensig.ParseKey(k)
		if err != nil {
			return s, fmt.Errorf("REFUNDFLOW_ADYEN_HMAC_KEYS: %w", err)
		}
		s.adyenHMACKeys = append(s.adyenHMACKeys, key)
	}
	switch user, password := strings.TrimSpace(c.AdyenWebhookUsername), c.AdyenWebhookPassword; {
	case user == "" && password == "":
	case user == "" || password == "":
		return s, errors.New("REFUNDFLOW_ADYEN_WEBHOOK_USERNAME and REFUNDFLOW_ADYEN_WEBHOOK_PASSWORD: set both, or neither")
	default:
		s.adyenBasic = &adyenBasicAuth{user: newSecret(user), password: newSecret(password)}
	}
	if s.paypal, err = c.PayPalWebhookConfig.verifier(); err != nil {
		return s, err
	}
	if s.dispositions, err = remediation.ParseDispositions(c.Dispositions); err != nil {
		return s, fmt.Errorf("REFUNDFLOW_DISPOSITIONS: %w", err)
	}
	s.currency = money.NormalizeCurrency(c.DefaultCurrency)
	if _, err := money.Exponent(s.currency); err != nil {
		return s, fmt.Errorf("REFUNDFLOW_DEFAULT_CURRENCY: %q is not an ISO 4217 currency code", c.DefaultCurrency)
	}
	if c.StartTimeout <= 0 {
		return s, fmt.Errorf("REFUNDFLOW_TEMPORAL_START_TIMEOUT: must be positive, got %s", c.StartTimeout)
	}
	if c.MetricsAddress != "" && c.ReviewMetricsInterval <= 0 {
		return s, fmt.Errorf("REFUNDFLOW_REVIEW_METRICS_INTERVAL: must be positive, got %s", c.ReviewMetricsInterval)
	}
	if strings.TrimSpace(c.TaskQueue) == "" {
		return s, fmt.Errorf("REFUNDFLOW_TASK_QUEUE: must not be empty")
	}
	return s, nil
}

// printUsage writes the table of variables, their defaults and meanings.
func printUsage(w io.Writer, cfg *Config) {
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	_ = envconfig.Usagef(envPrefix, cfg, tw, envconfig.DefaultTableFormat)
	_ = tw.Flush()
}
