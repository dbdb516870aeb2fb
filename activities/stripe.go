package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
)

// StripeAPIVersion is sent as Stripe-Version on every request, so a change
// of the account's default API version in the Stripe dashboard cannot change
// what our requests mean or what the answers look like. It is the version of
// the OpenAPI spec bundled in stripe-mock v0.203.0, the mock the tests run
// against (a test starts it with -strict-version-check to prove they match).
// Move it only together with stripe-mock, after reading Stripe's changelog
// for /v1/refunds.
const StripeAPIVersion = "2026-08-26.dahlia"

// StripeGateway creates refunds with Stripe's POST /v1/refunds. It speaks
// HTTP itself rather than through stripe-go: stripe-go retries on its own,
// which would fight the workflow's retry policy, and the HTTP path, the
// error classification and the tests are already here.
type StripeGateway struct {
	api    *apiClient
	base   string
	logger *slog.Logger
	// editForm, set only by tests, changes the form just before it is sent,
	// to force through a request Stripe must refuse.
	editForm func(url.Values)
}

// NewStripeGateway builds the Stripe gateway on client (see NewHTTPClient).
func NewStripeGateway(cfg GatewayConfig, client *http.Client, logger *slog.Logger) (*StripeGateway, error) {
	cfg.Kind = GatewayKindStripe
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger = orDiscard(logger)
	return &StripeGateway{
		api: &apiClient{
			http:     client,
			creds:    staticKey{key: cfg.StripeAPIKey},
			timeout:  cfg.Timeout,
			remote:   gatewayRemote("Stripe"),
			logger:   logger,
			classify: classifyStripe,
		},
		base:   strings.TrimRight(cfg.StripeBaseURL, "/"),
		logger: logger,
	}, nil
}

// Submit refunds through Stripe. A chargeback is something a cardholder's
// bank opens, never the merchant, so it goes to finance review.
func (g *StripeGateway) Submit(ctx context.Context, s Submission) (SubmissionResult, error) {
	op := fmt.Sprintf("submit %s %s", s.Action, s.TransactionID)
	switch s.Action {
	case remediation.ActionRefund:
	case remediation.ActionChargeback:
		return SubmissionResult{}, configurationError(op + ": Stripe does not let a merchant create a chargeback; sent to finance review")
	default:
		return SubmissionResult{}, invalidRequest(op + ": Stripe takes refunds only")
	}
	if err := checkSubmission(op, s); err != nil {
		return SubmissionResult{}, err
	}
	param, path, err := stripeTarget(s.TransactionID)
	if err != nil {
		return SubmissionResult{}, configurationError(fmt.Sprintf("%s: %v", op, err))
	}
	amount, err := stripeAmount(s.AmountMinor, s.Currency)
	if err != nil {
		return SubmissionResult{}, configurationError(fmt.Sprintf("%s: %v", op, err))
	}
	if err := g.checkCurrency(ctx, op, path, s.Currency); err != nil {
		return SubmissionResult{}, err
	}

	form := url.Values{
		param:                      {s.TransactionID},
		"amount":                   {strconv.FormatInt(amount, 10)},
		"reason":                   {"requested_by_customer"},
		"metadata[transaction_id]": {s.TransactionID},
		"metadata[disposition]":    {s.DispositionCode},
	}
	if g.editForm != nil {
		g.editForm(form)
	}
	resp, err := g.api.do(ctx, op, outgoing{
		method:      http.MethodPost,
		url:         g.base + "/v1/refunds",
		contentType: "application/x-www-form-urlencoded",
		body:        []byte(form.Encode()),
		header:      http.Header{"Idempotency-Key": {s.IdempotencyKey}, "Stripe-Version": {StripeAPIVersion}},
	})
	if err != nil {
		return SubmissionResult{}, err
	}
	var refund struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		FailureReason string `json:"failure_reason"`
	}
	_ = json.Unmarshal(resp.body, &refund)
	if refund.Status == "failed" || refund.Status == "canceled" {
		// Replaying the same Idempotency-Key returns this same refund; a
		// human decides what to do instead.
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("Stripe refund %s is %s (%s)", sanitize(refund.ID, 64), refund.Status, sanitize(refund.FailureReason, 60))}, "")
	}
	g.logger.Info("Stripe accepted the refund", "op", op, "refund", refund.ID, "status", refund.Status)
	return SubmissionResult{GatewayReference: gatewayReference(refund.ID), HTTPStatus: resp.status}, nil
}

// checkCurrency reads the PaymentIntent or Charge first. Stripe counts a
// refund's amount in the currency of the payment, whatever the disposition
// said: 4999 meant as 49.99 USD would refund 4999 yen from a JPY payment.
// A mismatch goes to review instead. The read also turns an unknown ID into
// a clear "no such payment" before anything is written.
func (g *StripeGateway) checkCurrency(ctx context.Context, op, path, currency string) error {
	resp, err := g.api.do(ctx, op, outgoing{
		method: http.MethodGet,
		url:    g.base + path,
		header: http.Header{"Stripe-Version": {StripeAPIVersion}},
	})
	if err != nil {
		return err
	}
	var payment struct {
		Currency string `json:"currency"`
	}
	if json.Unmarshal(resp.body, &payment) != nil || payment.Currency == "" {
		return g.api.fail(op, failure{errType: ErrGatewayUnavailable, msg: "Stripe answered GET " + path + " without a currency"}, "")
	}
	if !strings.EqualFold(payment.Currency, currency) {
		return invalidRequest(fmt.Sprintf("%s: the disposition's currency is %s but the Stripe payment is in %s; not refunded, sent to finance review",
			op, currency, strings.ToUpper(sanitize(payment.Currency, 8))))
	}
	return nil
}

// stripeTarget reads from the transaction ID what Stripe is to refund:
// payment_intent for pi_ IDs, charge for ch_ IDs. The path is where the
// payment is read.
func stripeTarget(txn string) (param, path string, err error) {
	switch {
	case strings.HasPrefix(txn, "pi_"):
		return "payment_intent", "/v1/payment_intents/" + url.PathEscape(txn), nil
	case strings.HasPrefix(txn, "ch_"):
		return "charge", "/v1/charges/" + url.PathEscape(txn), nil
	}
	return "", "", fmt.Errorf("transaction ID %q is neither a Stripe PaymentIntent (pi_...) nor a Charge (ch_...); Stripe cannot refund it, sent to finance review", txn)
}

// stripeAmount converts ISO 4217 minor units (what the workflow holds) into
// the unit Stripe counts in, which differs for a few currencies
// (https://docs.stripe.com/currencies). An amount Stripe cannot take exactly
// is refused, never rounded: rounding money is a finance decision.
func stripeAmount(minor int64, currency string) (int64, error) {
	switch currency {
	case "ISK":
		// ISO has no decimals; Stripe kept two for compatibility: 5 ISK is 500.
		if minor > math.MaxInt64/100 {
			return 0, fmt.Errorf("amount %d ISK is too large", minor)
		}
		return minor * 100, nil
	case "MGA":
		// ISO has two decimals; Stripe counts whole ariary.
		if minor%100 != 0 {
			return 0, fmt.Errorf("Stripe refunds whole MGA only; %d minor units is not a whole amount", minor)
		}
		return minor / 100, nil
	case "BHD", "JOD", "KWD", "OMR", "TND":
		// Three decimals, but Stripe's partners need the last one to be 0.
		if minor%10 != 0 {
			return 0, fmt.Errorf("Stripe needs %s amounts in multiples of 10 minor units; %d is not", currency, minor)
		}
	}
	return minor, nil
}

// stripeError is Stripe's error body.
type stripeError struct {
	Error struct {
		Type        string `json:"type"`
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Message     string `json:"message"`
	} `json:"error"`
}

// classifyStripe maps Stripe's error model onto the retry policy. Stripe
// says itself whether a retry can help (Stripe-Should-Retry), so that comes
// first; then a concurrent request with the same Idempotency-Key (409
// idempotency_key_in_use), 429 and 5xx are retried. Everything else is final
// and carries Stripe's code and message for finance ops, e.g.
// charge_already_refunded.
func classifyStripe(r remote, resp *response) failure {
	var se stripeError
	_ = json.Unmarshal(resp.body, &se)
	msg := fmt.Sprintf("Stripe answered %s", statusText(resp.status))
	if code := se.Error.Code; code != "" {
		msg += " " + sanitize(code, 60)
	} else if se.Error.Type != "" {
		msg += " " + sanitize(se.Error.Type, 60)
	}
	if dc := se.Error.DeclineCode; dc != "" {
		msg += " (" + sanitize(dc, 60) + ")"
	}
	switch {
	case se.Error.Message != "":
		msg += ": " + sanitize(se.Error.Message, maxExcerpt)
	case len(resp.body) > 0:
		msg += quoteExcerpt(resp.body)
	}
	if id := resp.header.Get("Request-Id"); id != "" {
		msg += " [request " + sanitize(id, 40) + "]"
	}

	retry := failure{errType: r.unavailable, retryAfter: retryAfter(resp.header, time.Now()), msg: msg}
	final := failure{errType: r.rejected, final: true, msg: msg}
	switch strings.ToLower(strings.TrimSpace(resp.header.Get("Stripe-Should-Retry"))) {
	case "true":
		return retry
	case "false":
		return final
	}
	switch {
	case resp.status == http.StatusConflict && se.Error.Code == "idempotency_key_in_use":
		return retry
	case retryableStatus(resp.status):
		return retry
	}
	return final
}

func configurationError(msg string) error {
	return failure{errType: ErrConfiguration, final: true, msg: msg}.applicationError()
}
