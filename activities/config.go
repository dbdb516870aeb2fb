package activities

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Gateway kinds (REFUNDFLOW_GATEWAY_KIND).
const (
	GatewayKindERP    = "erp"
	GatewayKindStripe = "stripe"
	GatewayKindAdyen  = "adyen"
	GatewayKindPayPal = "paypal"
)

// envPrefix is what the worker passes to envconfig; messages name the full
// variable so an operator can grep for it.
const envPrefix = "REFUNDFLOW_"

// GatewayConfig is the ERP or payment gateway side of the worker's config.
// The tags carry no prefix: the worker processes it with prefix REFUNDFLOW
// (embedded anonymously, or on its own), so Kind is REFUNDFLOW_GATEWAY_KIND.
type GatewayConfig struct {
	Kind          string        `envconfig:"GATEWAY_KIND" default:"erp" desc:"erp (OAuth2 JSON API), stripe (POST /v1/refunds), adyen (POST /v71/payments/{pspReference}/refunds) or paypal (POST /v2/payments/captures/{captureId}/refund)"`
	RefundURL     string        `envconfig:"GATEWAY_REFUND_URL" desc:"ERP endpoint refunds are POSTed to (erp)"`
	ChargebackURL string        `envconfig:"GATEWAY_CHARGEBACK_URL" desc:"ERP endpoint chargebacks are POSTed to (erp)"`
	TokenURL      string        `envconfig:"GATEWAY_TOKEN_URL" desc:"OAuth2 client-credentials token endpoint (erp)"`
	ClientID      string        `envconfig:"GATEWAY_CLIENT_ID" desc:"OAuth2 client id (erp)"`
	ClientSecret  string        `envconfig:"GATEWAY_CLIENT_SECRET" desc:"OAuth2 client secret (erp); never logged"`
	StatusURL     string        `envconfig:"GATEWAY_STATUS_URL" desc:"ERP refund status endpoint, GET <url>/<gatewayReference> answers {status, reason} (erp, optional: without it only webhooks settle a pending refund)"`
	Scopes        []string      `envconfig:"GATEWAY_SCOPES" desc:"OAuth2 scopes, comma-separated (erp, optional)"`
	Timeout       time.Duration `envconfig:"GATEWAY_TIMEOUT" default:"15s" desc:"timeout of one gateway HTTP call"`
	StripeBaseURL string        `envconfig:"STRIPE_BASE_URL" default:"https://api.stripe.com" desc:"Stripe API base URL (stripe; stripe-mock in tests)"`
	StripeAPIKey  string        `envconfig:"STRIPE_API_KEY" desc:"Stripe secret or restricted key with refund write access (stripe); never logged"`

	// Adyen (adyen.go): the Checkout API base without its version.
	AdyenBaseURL         string `envconfig:"ADYEN_BASE_URL" default:"https://checkout-test.adyen.com" desc:"Adyen Checkout API base, without the version (adyen): test https://checkout-test.adyen.com, live https://<prefix>-checkout-live.adyenpayments.com/checkout"`
	AdyenAPIKey          string `envconfig:"ADYEN_API_KEY" desc:"Adyen API key of a web service user allowed to refund, sent as X-API-Key (adyen); never logged"`
	AdyenMerchantAccount string `envconfig:"ADYEN_MERCHANT_ACCOUNT" desc:"Adyen merchant account the payments were made on (adyen)"`

	// PayPal (paypal.go): the API base, and the REST app's client
	// credentials its OAuth tokens are fetched with.
	PayPalBaseURL      string `envconfig:"PAYPAL_BASE_URL" default:"https://api-m.paypal.com" desc:"PayPal REST API base (paypal; https://api-m.sandbox.paypal.com for PayPal's sandbox, <sandbox>/paypal locally)"`
	PayPalClientID     string `envconfig:"PAYPAL_CLIENT_ID" desc:"PayPal REST app client id (paypal)"`
	PayPalClientSecret string `envconfig:"PAYPAL_CLIENT_SECRET" desc:"PayPal REST app secret (paypal); never logged"`
}

// KindOrDefault is the gateway kind, erp when unset (a config built in code
// rather than by envconfig gets the same default).
func (c GatewayConfig) KindOrDefault() string {
	k := strings.ToLower(strings.TrimSpace(c.Kind))
	if k == "" {
		return GatewayKindERP
	}
	return k
}

// Validate names every missing or malformed REFUNDFLOW_* variable at once.
// Messages carry variable names only, never values: some are secrets.
func (c GatewayConfig) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("%sGATEWAY_TIMEOUT must be a positive duration such as 15s", envPrefix))
	}
	switch kind := c.KindOrDefault(); kind {
	case GatewayKindERP:
		errs = append(errs, c.validateERP()...)
	case GatewayKindStripe:
		errs = append(errs, c.validateStripe()...)
	case GatewayKindAdyen:
		errs = append(errs, c.validateAdyen()...)
	case GatewayKindPayPal:
		errs = append(errs, c.validatePayPal()...)
	default:
		errs = append(errs, fmt.Errorf("%sGATEWAY_KIND must be one of %s, not %q", envPrefix, strings.Join(gatewayKinds, ", "), kind))
	}
	return errors.Join(errs...)
}

func (c GatewayConfig) validateERP() []error {
	when := " (with " + envPrefix + "GATEWAY_KIND=erp)"
	var errs []error
	errs = append(errs, requireURL("GATEWAY_REFUND_URL", c.RefundURL, when)...)
	errs = append(errs, requireURL("GATEWAY_CHARGEBACK_URL", c.ChargebackURL, when)...)
	errs = append(errs, requireURL("GATEWAY_TOKEN_URL", c.TokenURL, when)...)
	errs = append(errs, require("GATEWAY_CLIENT_ID", c.ClientID, when)...)
	errs = append(errs, require("GATEWAY_CLIENT_SECRET", c.ClientSecret, when)...)
	return errs
}

// gatewayKinds are the values REFUNDFLOW_GATEWAY_KIND takes.
var gatewayKinds = []string{GatewayKindERP, GatewayKindStripe, GatewayKindAdyen, GatewayKindPayPal}

func (c GatewayConfig) validatePayPal() []error {
	when := " (with " + envPrefix + "GATEWAY_KIND=paypal)"
	var errs []error
	errs = append(errs, requireURL("PAYPAL_BASE_URL", c.PayPalBaseURL, when)...)
	errs = append(errs, require("PAYPAL_CLIENT_ID", c.PayPalClientID, when)...)
	errs = append(errs, require("PAYPAL_CLIENT_SECRET", c.PayPalClientSecret, when)...)
	return errs
}

func (c GatewayConfig) validateStripe() []error {
	when := " (with " + envPrefix + "GATEWAY_KIND=stripe)"
	var errs []error
	errs = append(errs, requireURL("STRIPE_BASE_URL", c.StripeBaseURL, when)...)
	errs = append(errs, require("STRIPE_API_KEY", c.StripeAPIKey, when)...)
	return errs
}

func (c GatewayConfig) validateAdyen() []error {
	when := " (with " + envPrefix + "GATEWAY_KIND=adyen)"
	var errs []error
	errs = append(errs, requireURL("ADYEN_BASE_URL", c.AdyenBaseURL, when)...)
	errs = append(errs, require("ADYEN_API_KEY", c.AdyenAPIKey, when)...)
	errs = append(errs, require("ADYEN_MERCHANT_ACCOUNT", c.AdyenMerchantAccount, when)...)
	return errs
}

// GenesysConfig is the Genesys Cloud side of the worker's config: write-backs
// onto the interaction and escalations to finance ops.
type GenesysConfig struct {
	APIURL             string        `envconfig:"GENESYS_API_URL" desc:"Genesys Cloud API base, e.g. https://api.mypurecloud.com"`
	LoginURL           string        `envconfig:"GENESYS_LOGIN_URL" desc:"Genesys login base for POST /oauth/token; default: the API URL with api. turned into login."`
	ClientID           string        `envconfig:"GENESYS_CLIENT_ID" desc:"Genesys OAuth client-credentials client id"`
	ClientSecret       string        `envconfig:"GENESYS_CLIENT_SECRET" desc:"Genesys OAuth client secret; never logged"`
	FailedWrapupCodeID string        `envconfig:"GENESYS_FAILED_WRAPUP_CODE_ID" desc:"wrap-up code id set when a refund fails (optional; none: no wrap-up is set)"`
	WorktypeID         string        `envconfig:"GENESYS_WORKTYPE_ID" desc:"Task Management worktype for review workitems (this or FINANCE_OPS_EMAIL)"`
	QueueID            string        `envconfig:"GENESYS_QUEUE_ID" desc:"queue review workitems are routed to (optional)"`
	ClosedStatusID     string        `envconfig:"GENESYS_CLOSED_STATUS_ID" desc:"status a review workitem is set to when the review ends (optional; default: the worktype's status in category Closed, looked up once)"`
	FinanceOpsEmail    string        `envconfig:"FINANCE_OPS_EMAIL" desc:"finance ops address for agentless emails: escalations without a worktype, and reminders"`
	EmailFrom          string        `envconfig:"GENESYS_EMAIL_FROM" desc:"sender address of those emails, on a Genesys outbound email domain"`
	Timeout            time.Duration `envconfig:"GENESYS_TIMEOUT" default:"10s" desc:"timeout of one Genesys HTTP call"`
	DecisionStatuses   string        `envconfig:"GENESYS_DECISION_STATUSES" default:"Approved=approve,Rejected=reject,Resolved=resolved" desc:"review workitem status names that are a finance decision, as name=approve|reject|resolved,..."`
}

// decisionOf is the decision a review workitem's status name makes, if
// any (names compared without case).
func (c GenesysConfig) decisionOf(status string) (string, bool) {
	decisions, _ := parseDecisionStatuses(c.DecisionStatuses)
	kind, ok := decisions[strings.ToLower(strings.TrimSpace(status))]
	return kind, ok && status != ""
}

// parseDecisionStatuses reads name=decision,... into lower-case name ->
// decision.
func parseDecisionStatuses(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(spec, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, kind, ok := strings.Cut(pair, "=")
		name, kind = strings.TrimSpace(name), strings.TrimSpace(kind)
		if !ok || name == "" || !remediation.ValidDecision(kind) {
			return nil, fmt.Errorf("%sGENESYS_DECISION_STATUSES: %q: want a status name=approve, reject or resolved", envPrefix, pair)
		}
		out[strings.ToLower(name)] = kind
	}
	return out, nil
}

// LoginBase is the login base URL: as configured, or derived from the API
// URL the way Genesys names its regions (api.mypurecloud.com ->
// login.mypurecloud.com). A host without "api." (a proxy, a stand-in for
// Genesys on localhost) has nothing to turn into "login.", so the login
// base is the API URL itself; LoginFromAPIURL says when that is so, and the
// client logs it.
func (c GenesysConfig) LoginBase() (string, error) {
	if c.LoginURL != "" {
		return strings.TrimRight(c.LoginURL, "/"), nil
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%sGENESYS_LOGIN_URL cannot be derived from %sGENESYS_API_URL %q: set either to an absolute URL", envPrefix, envPrefix, c.APIURL)
	}
	if c.LoginFromAPIURL() {
		return strings.TrimRight(c.APIURL, "/"), nil
	}
	u.Host = "login." + strings.TrimPrefix(u.Host, "api.")
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return strings.TrimRight(u.String(), "/"), nil
}

// LoginFromAPIURL reports whether tokens are fetched from the API URL
// itself: no login URL is set and the API host has no "api." to derive one.
func (c GenesysConfig) LoginFromAPIURL() bool {
	if c.LoginURL != "" {
		return false
	}
	u, err := url.Parse(c.APIURL)
	return err == nil && u.Host != "" && !strings.HasPrefix(u.Host, "api.")
}

// Validate names every missing or malformed REFUNDFLOW_* variable. An
// escalation must always have somewhere to go: a worktype or an email.
func (c GenesysConfig) Validate() error {
	var errs []error
	errs = append(errs, requireURL("GENESYS_API_URL", c.APIURL, "")...)
	if c.LoginURL != "" {
		errs = append(errs, requireURL("GENESYS_LOGIN_URL", c.LoginURL, "")...)
	} else if c.APIURL != "" {
		if _, err := c.LoginBase(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, require("GENESYS_CLIENT_ID", c.ClientID, "")...)
	errs = append(errs, require("GENESYS_CLIENT_SECRET", c.ClientSecret, "")...)
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("%sGENESYS_TIMEOUT must be a positive duration such as 10s", envPrefix))
	}
	if c.WorktypeID == "" && c.FinanceOpsEmail == "" {
		errs = append(errs, fmt.Errorf("%sGENESYS_WORKTYPE_ID or %sFINANCE_OPS_EMAIL is required, so that a review always reaches finance ops", envPrefix, envPrefix))
	}
	if c.FinanceOpsEmail != "" {
		errs = append(errs, requireEmail("FINANCE_OPS_EMAIL", c.FinanceOpsEmail)...)
		if c.EmailFrom == "" {
			errs = append(errs, fmt.Errorf("%sGENESYS_EMAIL_FROM is required with %sFINANCE_OPS_EMAIL", envPrefix, envPrefix))
		}
	}
	if c.EmailFrom != "" {
		errs = append(errs, requireEmail("GENESYS_EMAIL_FROM", c.EmailFrom)...)
	}
	if _, err := parseDecisionStatuses(c.DecisionStatuses); err != nil {
		errs = append(errs, err)
	}
	// Genesys ids are UUIDs (its spec refuses a queueId that is not one):
	// a name here would fail every review, so it fails the start instead.
	for _, id := range []struct{ name, value string }{
		{"GENESYS_WORKTYPE_ID", c.WorktypeID}, {"GENESYS_QUEUE_ID", c.QueueID},
		{"GENESYS_FAILED_WRAPUP_CODE_ID", c.FailedWrapupCodeID}, {"GENESYS_CLOSED_STATUS_ID", c.ClosedStatusID},
	} {
		if id.value != "" && !isUUID(id.value) {
			errs = append(errs, fmt.Errorf("%s%s must be a Genesys id, a UUID such as 7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c (the id, not the name)", envPrefix, id.name))
		}
	}
	return errors.Join(errs...)
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form, the
// shape of every Genesys id.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func require(name, value, when string) []error {
	if strings.TrimSpace(value) == "" {
		return []error{fmt.Errorf("%s%s is required%s", envPrefix, name, when)}
	}
	return nil
}

func requireURL(name, value, when string) []error {
	if errs := require(name, value, when); errs != nil {
		return errs
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return []error{fmt.Errorf("%s%s must be an absolute http(s) URL", envPrefix, name)}
	}
	if u.User != nil {
		// Credentials in a URL end up in error messages and logs.
		return []error{fmt.Errorf("%s%s must not carry credentials; use the client id/secret variables", envPrefix, name)}
	}
	return nil
}

func requireEmail(name, value string) []error {
	a, err := mail.ParseAddress(value)
	if err != nil || a.Address != value {
		return []error{fmt.Errorf("%s%s must be a bare email address such as finance@example.com", envPrefix, name)}
	}
	return nil
}
