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

	"github.com/refundflow/refundflow/internal/money"
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
	if err := checkRefundOnly(op, "Stripe", "Stripe does not let a merchant create a chargeback", s); err != nil {
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
	// Look for this transaction's refunds on every submission, not only on
	// a retry or a corrected amount. Stripe forgets an Idempotency-Key after
	// about 24 hours, and an approval is a new activity at attempt 1 with
	// the plain key: nothing in the Submission tells it from the first one.
	// Not even a fresh disposition timestamp makes skipping safe, because an
	// approval with a corrected amount (another key) may have refunded
	// before an approval of the original amount came back to the plain key.
	// A second refund is money out that a human must claw back; the price
	// of looking is one read per refund, which is cheap next to that.
	made, status, err := g.refundsMade(ctx, op, param, s.TransactionID)
	if err != nil {
		return SubmissionResult{}, err
	}
	switch {
	case len(made) == 1 && made[0].Amount == amount:
		// Our own refund, made by an earlier submission whose answer was
		// lost or whose key Stripe has forgotten: it is the result.
		g.logger.Info("Stripe already holds this transaction's refund; not creating another",
			"op", op, "refund", made[0].ID, "status", made[0].Status, "amount", made[0].Amount)
		return SubmissionResult{GatewayReference: gatewayReference(made[0].ID), HTTPStatus: status, GatewayStatus: made[0].Status}, nil
	case len(made) > 0:
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("Stripe already holds %s for this transaction and this submission asks for %s; not refunded again, sent to finance review to reconcile by hand",
				describeRefunds(made, s.Currency), stripeMoney(amount, s.Currency))}, "")
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
	var refund stripeRefund
	_ = json.Unmarshal(resp.body, &refund)
	if refund.Status == "failed" || refund.Status == "canceled" {
		// Replaying the same Idempotency-Key returns this same refund; a
		// human decides what to do instead.
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("Stripe refund %s is %s (%s)", sanitize(refund.ID, 64), refund.Status, sanitize(refund.FailureReason, 60))}, "")
	}
	g.logger.Info("Stripe accepted the refund", "op", op, "refund", refund.ID, "status", refund.Status)
	return SubmissionResult{GatewayReference: gatewayReference(refund.ID), HTTPStatus: resp.status, GatewayStatus: refund.Status}, nil
}

// Check reads the refund: GET /v1/refunds/{id}. Its status is Stripe's
// word (pending, requires_action, succeeded, failed, canceled) and
// failure_reason the reason of a failure.
func (g *StripeGateway) Check(ctx context.Context, c SettlementCheck) (remediation.GatewayEvent, error) {
	ev := pollEvent("stripe", c)
	if c.GatewayReference == "" {
		return ev, nil
	}
	op := fmt.Sprintf("check refund %s of %s", c.GatewayReference, c.TransactionID)
	resp, err := g.api.do(ctx, op, outgoing{
		method: http.MethodGet,
		url:    g.base + "/v1/refunds/" + url.PathEscape(c.GatewayReference),
		header: http.Header{"Stripe-Version": {StripeAPIVersion}},
	})
	if err != nil {
		return ev, err
	}
	var refund stripeRefund
	if json.Unmarshal(resp.body, &refund) != nil || refund.Status == "" {
		return ev, g.api.fail(op, failure{errType: ErrGatewayUnavailable, msg: "Stripe answered GET /v1/refunds/{id} without a refund status"}, "")
	}
	ev.Status, ev.Reason = refund.Status, sanitize(refund.FailureReason, 120)
	return ev, nil
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

// stripeRefund is what is read of a Stripe refund object.
type stripeRefund struct {
	ID            string            `json:"id"`
	Amount        int64             `json:"amount"`
	Status        string            `json:"status"`
	FailureReason string            `json:"failure_reason"`
	Metadata      map[string]string `json:"metadata"`
}

const (
	// refundPageSize is the largest page GET /v1/refunds serves.
	refundPageSize = 100
	// maxRefundPages bounds the lookup. A payment with more than a
	// thousand refunds is not one to refund automatically, and a listing
	// that never ends (a has_more that stays true) must not loop forever.
	maxRefundPages = 10
)

// refundsMade lists the refunds Stripe holds for the payment (param is
// payment_intent or charge, as for the refund itself) and keeps those this
// transaction made, by metadata[transaction_id], that are neither failed nor
// canceled: a failed refund moved no money, so it blocks nothing. Refunds
// made another way (the dashboard, another system) are not ours to judge.
// status is the HTTP status of the last page read.
func (g *StripeGateway) refundsMade(ctx context.Context, op, param, txn string) ([]stripeRefund, int, error) {
	var made []stripeRefund
	query := url.Values{param: {txn}, "limit": {strconv.Itoa(refundPageSize)}}
	for page := 1; ; page++ {
		resp, err := g.api.do(ctx, op, outgoing{
			method: http.MethodGet,
			url:    g.base + "/v1/refunds?" + query.Encode(),
			header: http.Header{"Stripe-Version": {StripeAPIVersion}},
		})
		if err != nil {
			return nil, 0, err
		}
		var list struct {
			Object  string         `json:"object"`
			Data    []stripeRefund `json:"data"`
			HasMore bool           `json:"has_more"`
		}
		if json.Unmarshal(resp.body, &list) != nil || list.Object != "list" || (list.HasMore && len(list.Data) == 0) {
			return nil, 0, g.api.fail(op, failure{errType: ErrGatewayUnavailable, msg: "Stripe answered GET /v1/refunds without a usable list of refunds"}, "")
		}
		for _, r := range list.Data {
			if r.Metadata["transaction_id"] == txn && r.Status != "failed" && r.Status != "canceled" {
				made = append(made, r)
			}
		}
		if !list.HasMore {
			return made, resp.status, nil
		}
		if page == maxRefundPages {
			return nil, 0, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
				msg: fmt.Sprintf("Stripe lists more than %d refunds for %s; not refunded, sent to finance review to check by hand", maxRefundPages*refundPageSize, txn)}, "")
		}
		// Stripe lists newest first; the next page starts after the last.
		query.Set("starting_after", list.Data[len(list.Data)-1].ID)
	}
}

// describeRefunds names refunds for finance ops: id, amount and status.
func describeRefunds(refunds []stripeRefund, currency string) string {
	parts := make([]string, len(refunds))
	for i, r := range refunds {
		parts[i] = fmt.Sprintf("refund %s of %s (%s)", sanitize(r.ID, 64), stripeMoney(r.Amount, currency), sanitize(r.Status, 20))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return fmt.Sprintf("%d refunds: %s", len(parts), strings.Join(parts, ", "))
}

// stripeMoney shows an amount in Stripe's unit as finance reads it,
// "49.99 USD", falling back to Stripe's own number when it does not convert.
func stripeMoney(amount int64, currency string) string {
	minor, ok := amount, amount >= 0
	switch currency {
	case "ISK":
		minor, ok = amount/100, ok && amount%100 == 0
	case "MGA":
		minor, ok = amount*100, ok && amount <= math.MaxInt64/100
	}
	if major, err := money.FormatMajor(minor, currency); ok && err == nil {
		return major + " " + currency
	}
	return fmt.Sprintf("%d (Stripe's unit of %s)", amount, currency)
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
