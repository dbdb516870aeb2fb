package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// AdyenCheckoutVersion is the Checkout API version every call names in its
// path, the version of the spec the sandbox validates against.
const AdyenCheckoutVersion = "v71"

const (
	// adyenRefundReason is merchantRefundReason: every refund here is one an
	// agent granted on a call.
	adyenRefundReason = "CUSTOMER REQUEST"
	// adyenMaxIdempotencyKey is the longest Idempotency-Key Adyen takes
	// (docs.adyen.com/development-resources/api-idempotency).
	adyenMaxIdempotencyKey = 64
	// AdyenReceived is the status of every refund Adyen takes: never final,
	// its outcome comes by webhook.
	AdyenReceived = "received"
)

// pspReferenceShape is Adyen's pspReference: 16 alphanumeric characters
// (help.adyen.com, "What is a PSP reference number?").
var pspReferenceShape = regexp.MustCompile(`^[A-Za-z0-9]{16}$`)

// AdyenGateway refunds through Adyen's Checkout API:
// POST /v71/payments/{paymentPspReference}/refunds. Adyen answers 201
// "received" and tells the outcome only by webhook (REFUND, REFUND_FAILED,
// REFUNDED_REVERSED, at the starter); it has no refund to read.
type AdyenGateway struct {
	api             *apiClient
	base            string
	merchantAccount string
	logger          *slog.Logger
	// editBody, set only by tests, changes the body just before it is
	// encoded, to force through a request Adyen must refuse.
	editBody func(map[string]any)
}

// NewAdyenGateway builds the Adyen gateway on client (see NewHTTPClient).
// The API key travels as X-API-Key and is scrubbed from every error.
func NewAdyenGateway(cfg GatewayConfig, client *http.Client, logger *slog.Logger) (*AdyenGateway, error) {
	logger = orDiscard(logger)
	return &AdyenGateway{
		api: &apiClient{
			http:      client,
			creds:     staticKey{key: cfg.AdyenAPIKey},
			timeout:   cfg.Timeout,
			remote:    gatewayRemote("Adyen"),
			logger:    logger,
			classify:  classifyAdyen,
			authorize: func(h http.Header, key string) { h.Set("X-API-Key", key) },
		},
		base:            strings.TrimRight(cfg.AdyenBaseURL, "/"),
		merchantAccount: cfg.AdyenMerchantAccount,
		logger:          logger,
	}, nil
}

// adyenAmountBody is Adyen's Amount.
type adyenAmountBody struct {
	Currency string `json:"currency"`
	Value    int64  `json:"value"`
}

// Submit asks Adyen for the refund. A chargeback is opened by the
// cardholder's bank, never by the merchant, so it goes to finance review;
// so does a transaction ID that is no pspReference, before any call.
func (g *AdyenGateway) Submit(ctx context.Context, s Submission) (SubmissionResult, error) {
	op := fmt.Sprintf("submit %s %s", s.Action, s.TransactionID)
	if err := checkRefundOnly(op, "Adyen", "a chargeback cannot be opened by the merchant at Adyen", s); err != nil {
		return SubmissionResult{}, err
	}
	if !pspReferenceShape.MatchString(s.TransactionID) {
		return SubmissionResult{}, configurationError(fmt.Sprintf(
			"%s: transaction ID %q is not an Adyen pspReference (16 letters and digits); Adyen cannot refund it, sent to finance review", op, s.TransactionID))
	}
	value, err := adyenAmount(s.AmountMinor, s.Currency)
	if err != nil {
		return SubmissionResult{}, configurationError(fmt.Sprintf("%s: %v; sent to finance review", op, err))
	}
	body := map[string]any{
		"merchantAccount":      g.merchantAccount,
		"amount":               adyenAmountBody{Currency: s.Currency, Value: value},
		"reference":            s.TransactionID,
		"merchantRefundReason": adyenRefundReason,
	}
	if g.editBody != nil {
		g.editBody(body)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("%s: encode body: %v", op, err))
	}
	resp, err := g.api.do(ctx, op, outgoing{
		method:      http.MethodPost,
		url:         fmt.Sprintf("%s/%s/payments/%s/refunds", g.base, AdyenCheckoutVersion, url.PathEscape(s.TransactionID)),
		contentType: "application/json",
		body:        raw,
		header:      http.Header{"Idempotency-Key": {adyenIdempotencyKey(s.IdempotencyKey)}},
	})
	if err != nil {
		return SubmissionResult{}, err
	}
	var refund struct {
		PSPReference string `json:"pspReference"`
		Status       string `json:"status"`
	}
	_ = json.Unmarshal(resp.body, &refund)
	if refund.Status != AdyenReceived || !pspReferenceShape.MatchString(refund.PSPReference) {
		// Adyen documents one answer, 201 received with the refund's
		// pspReference. Anything else may or may not have made a refund:
		// Completed could be wrong, sending again could refund twice.
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("Adyen answered %s without a received refund: check in the Customer Area whether it was made before approving%s", statusText(resp.status), quoteExcerpt(resp.body))}, "")
	}
	g.logger.Info("Adyen received the refund", "op", op, "refund", refund.PSPReference, "status", refund.Status)
	return SubmissionResult{GatewayReference: refund.PSPReference, HTTPStatus: resp.status, GatewayStatus: AdyenReceived}, nil
}

// Check has nothing to say: Adyen has no refund to read. Its webhook
// settles a received refund, or the settlement timeout sends it to review.
func (g *AdyenGateway) Check(_ context.Context, c SettlementCheck) (remediation.GatewayEvent, error) {
	return pollEvent("adyen", c), nil
}

// adyenIdempotencyKey is the workflow's key as Adyen takes it: as is up to
// 64 characters, else the hex SHA-256 of it (64 characters), which is the
// same for every retry and crash of the same submission. With a 16-character
// pspReference the workflow's keys are 30 characters at most; this keeps a
// longer transaction ID from ever sending a key Adyen refuses or cuts.
func adyenIdempotencyKey(key string) string {
	if len(key) <= adyenMaxIdempotencyKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// adyenAmount converts ISO 4217 minor units (what the workflow holds) into
// Adyen's, which differ from ISO for four currencies (money.AdyenExponent).
// An amount Adyen cannot take exactly is refused, never rounded: rounding
// money is a finance decision.
func adyenAmount(minor int64, currency string) (int64, error) {
	iso, err := money.Exponent(currency)
	if err != nil {
		return 0, err
	}
	adyen, err := money.AdyenExponent(currency)
	if err != nil {
		return 0, err
	}
	v, err := money.Rescale(minor, iso, adyen)
	if err != nil {
		major, _ := money.FormatMajor(minor, currency)
		if adyen == 0 {
			return 0, fmt.Errorf("Adyen takes whole %s only; %s %s cannot be refunded there exactly", currency, major, currency)
		}
		return 0, fmt.Errorf("Adyen takes %s with %d decimals; %s %s cannot be refunded there exactly", currency, adyen, major, currency)
	}
	return v, nil
}

// adyenError is Adyen's ServiceError.
type adyenError struct {
	Status       int    `json:"status"`
	ErrorCode    string `json:"errorCode"`
	Message      string `json:"message"`
	ErrorType    string `json:"errorType"`
	PSPReference string `json:"pspReference"`
}

// classifyAdyen names Adyen's errorCode and message for finance ops
// (e.g. "errorCode 137: Invalid amount specified"); 408, 429 (with
// Retry-After) and 5xx are retried, every other answer is final.
func classifyAdyen(r remote, resp *response) failure {
	var ae adyenError
	_ = json.Unmarshal(resp.body, &ae)
	msg := fmt.Sprintf("Adyen answered %s", statusText(resp.status))
	if ae.ErrorCode != "" {
		msg += " errorCode " + sanitize(ae.ErrorCode, 20)
	}
	if ae.ErrorType != "" {
		msg += " (" + sanitize(ae.ErrorType, 30) + ")"
	}
	switch {
	case ae.Message != "":
		msg += ": " + sanitize(ae.Message, maxExcerpt)
	case len(resp.body) > 0:
		msg += quoteExcerpt(resp.body)
	}
	if ae.PSPReference != "" {
		msg += " [pspReference " + sanitize(ae.PSPReference, 20) + "]"
	}
	if retryableStatus(resp.status) {
		return failure{errType: r.unavailable, retryAfter: retryAfter(resp.header, time.Now()), msg: msg}
	}
	return failure{errType: r.rejected, final: true, msg: msg}
}
