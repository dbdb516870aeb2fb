package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// PayPalGateway refunds captures with PayPal's Payments v2 API: an OAuth
// 2.0 client-credentials token from /v1/oauth2/token (cached, renewed, a
// 401 answered by one new token), POST /v2/payments/captures/{id}/refund
// with the Idempotency-Key as PayPal-Request-Id, and GET
// /v2/payments/refunds/{id} for a refund PayPal took as PENDING
// (contract section 7; docs/paypal.md).
type PayPalGateway struct {
	api    *apiClient
	base   string
	logger *slog.Logger
	// editBody, set only by tests, changes the refund body just before it
	// is sent, to force through a request PayPal must refuse.
	editBody func(map[string]any)
}

// NewPayPalGateway builds the PayPal gateway on client (see NewHTTPClient);
// the token requests go through the same client.
func NewPayPalGateway(cfg GatewayConfig, client *http.Client, logger *slog.Logger) (*PayPalGateway, error) {
	logger = orDiscard(logger)
	base := strings.TrimRight(cfg.PayPalBaseURL, "/")
	r := gatewayRemote("PayPal")
	return &PayPalGateway{
		api: &apiClient{
			http:     client,
			creds:    newOAuthCredentials(base+"/v1/oauth2/token", cfg.PayPalClientID, cfg.PayPalClientSecret, nil, client, r),
			timeout:  cfg.Timeout,
			remote:   r,
			logger:   logger,
			classify: classifyPayPal,
		},
		base:   base,
		logger: logger,
	}, nil
}

// paypalCaptureID is the shape of a PayPal capture ID (Payments v2
// related_ids.capture_id: 1-20 of [A-Z0-9]; PayPal's are 17 long).
var paypalCaptureID = regexp.MustCompile(`^[A-Z0-9]{1,20}$`)

// PayPalValue writes ISO 4217 minor units (what the workflow holds) as
// PayPal's amount text for the currency: 4999 USD is "49.99", 4999 JPY
// "4999", 150000 HUF (1500.00) "1500". An amount PayPal cannot take
// exactly (1500.50 HUF, any KWD) is refused, never rounded.
func PayPalValue(minor int64, currency string) (string, error) {
	decimals, ok := money.PayPalDecimals(currency)
	if !ok {
		return "", fmt.Errorf("PayPal does not take %s (not among its supported currencies)", currency)
	}
	iso, err := money.Exponent(currency)
	if err != nil {
		return "", err
	}
	if minor <= 0 {
		return "", fmt.Errorf("amount %d is not positive", minor)
	}
	units, err := money.Rescale(minor, iso, decimals)
	if err != nil {
		major, _ := money.FormatMajor(minor, currency)
		return "", fmt.Errorf("PayPal takes %s with %d decimals; %s %s cannot be refunded there exactly", currency, decimals, major, currency)
	}
	if decimals == 0 {
		return strconv.FormatInt(units, 10), nil
	}
	s := fmt.Sprintf("%0*d", decimals+1, units)
	return s[:len(s)-decimals] + "." + s[len(s)-decimals:], nil
}

// sameAmount reports whether PayPal's money is value in currency, read as
// numbers ("25.0" is "25.00"), never as floats.
func sameAmount(m paypalMoney, value, currency string) bool {
	if m.CurrencyCode != currency {
		return false
	}
	a, errA := money.ParseMinor(m.Value, currency)
	b, errB := money.ParseMinor(value, currency)
	if errA != nil || errB != nil {
		return m.Value == value
	}
	return a == b
}

// paypalMoney is PayPal's money object.
type paypalMoney struct {
	Value        string `json:"value"`
	CurrencyCode string `json:"currency_code"`
}

// paypalRefund is what is read of a PayPal refund.
type paypalRefund struct {
	ID            string      `json:"id"`
	Status        string      `json:"status"`
	Amount        paypalMoney `json:"amount"`
	CustomID      string      `json:"custom_id"`
	StatusDetails struct {
		Reason string `json:"reason"`
	} `json:"status_details"`
}

// paypalCapture is what is read of a PayPal capture.
type paypalCapture struct {
	ID                string      `json:"id"`
	Status            string      `json:"status"`
	Amount            paypalMoney `json:"amount"`
	SupplementaryData struct {
		RelatedIDs struct {
			OrderID string `json:"order_id"`
		} `json:"related_ids"`
	} `json:"supplementary_data"`
}

// paypalRefundRequest is the body of the refund: the contract's fields in
// the contract's order.
type paypalRefundRequest struct {
	Amount   paypalMoney `json:"amount"`
	CustomID string      `json:"custom_id"`
}

// Submit refunds the capture the transaction ID names. A chargeback is the
// cardholder's bank's (or PayPal's dispute process's) to open, never the
// merchant's, so it goes to finance review.
func (g *PayPalGateway) Submit(ctx context.Context, s Submission) (SubmissionResult, error) {
	op := fmt.Sprintf("submit %s %s", s.Action, s.TransactionID)
	if err := checkRefundOnly(op, "PayPal", "a chargeback cannot be opened by the merchant at PayPal", s); err != nil {
		return SubmissionResult{}, err
	}
	if !paypalCaptureID.MatchString(s.TransactionID) {
		return SubmissionResult{}, configurationError(fmt.Sprintf("%s: transaction ID %q is not a PayPal capture ID (1-20 of A-Z and 0-9); PayPal cannot refund it, sent to finance review", op, s.TransactionID))
	}
	value, err := PayPalValue(s.AmountMinor, s.Currency)
	if err != nil {
		return SubmissionResult{}, configurationError(fmt.Sprintf("%s: %v; not refunded, sent to finance review", op, err))
	}
	capture, err := g.readCapture(ctx, op, s.TransactionID)
	if err != nil {
		return SubmissionResult{}, err
	}
	if capture.Amount.CurrencyCode != s.Currency {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("%s: the disposition's currency is %s but the PayPal capture is in %s; not refunded, sent to finance review",
			op, s.Currency, sanitize(capture.Amount.CurrencyCode, 8)))
	}
	// Look before creating, on every submission: PayPal forgets a
	// PayPal-Request-Id after 45 days, and an approval is a new activity
	// with the plain key that nothing tells from the first submission (see
	// StripeGateway.Submit). The capture's status says whether any refund
	// exists; only then are its refunds listed (on its order).
	made, err := g.refundsMade(ctx, op, s.TransactionID, capture)
	if err != nil {
		return SubmissionResult{}, err
	}
	switch {
	case len(made) == 1 && sameAmount(made[0].Amount, value, s.Currency):
		g.logger.Info("PayPal already holds this transaction's refund; not creating another",
			"op", op, "refund", made[0].ID, "status", made[0].Status)
		return g.result(op, made[0], http.StatusOK)
	case len(made) > 0:
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("PayPal already holds %s for this transaction and this submission asks for %s %s; not refunded again, sent to finance review to reconcile by hand",
				describePayPalRefunds(made), value, s.Currency)}, "")
	}

	body := map[string]any{}
	raw, _ := json.Marshal(paypalRefundRequest{Amount: paypalMoney{Value: value, CurrencyCode: s.Currency}, CustomID: s.TransactionID})
	if g.editBody != nil {
		_ = json.Unmarshal(raw, &body)
		g.editBody(body)
		raw, _ = json.Marshal(body)
	}
	resp, err := g.api.do(ctx, op, outgoing{
		method:      http.MethodPost,
		url:         g.base + "/v2/payments/captures/" + url.PathEscape(s.TransactionID) + "/refund",
		contentType: "application/json",
		body:        raw,
		header: http.Header{
			"Paypal-Request-Id": {s.IdempotencyKey},
			"Prefer":            {"return=representation"},
		},
	})
	if err != nil {
		return SubmissionResult{}, err
	}
	var refund paypalRefund
	if json.Unmarshal(resp.body, &refund) != nil || refund.ID == "" || refund.Status == "" {
		// Taken, but the answer does not say what became of it: approving
		// blind could refund twice, so a human looks.
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("PayPal answered %s without a refund id and status: check the capture at PayPal before approving%s", statusText(resp.status), quoteExcerpt(resp.body))}, "")
	}
	return g.result(op, refund, resp.status)
}

// result turns PayPal's refund into the submission's outcome: COMPLETED
// is final success, PENDING is taken and not final, FAILED and CANCELLED
// go to review with PayPal's reason.
func (g *PayPalGateway) result(op string, refund paypalRefund, status int) (SubmissionResult, error) {
	word := strings.ToLower(refund.Status)
	switch remediation.SettlementOf(word) {
	case remediation.SettlementFailed:
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("PayPal refund %s is %s%s", gatewayReference(refund.ID), sanitize(refund.Status, 20), paypalReason(refund))}, "")
	case remediation.SettlementSucceeded, remediation.SettlementPending:
	default:
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("PayPal refund %s has status %q, which is none of COMPLETED, PENDING, FAILED, CANCELLED: check it at PayPal before approving", gatewayReference(refund.ID), sanitize(refund.Status, 40))}, "")
	}
	g.logger.Info("PayPal took the refund", "op", op, "refund", refund.ID, "status", refund.Status)
	return SubmissionResult{GatewayReference: gatewayReference(refund.ID), HTTPStatus: status, GatewayStatus: word}, nil
}

func paypalReason(r paypalRefund) string {
	if r.StatusDetails.Reason == "" {
		return ""
	}
	return " (status_details.reason " + sanitize(r.StatusDetails.Reason, 60) + ")"
}

// readCapture is GET /v2/payments/captures/{id}: its currency, its status
// (whether any refund exists) and its order.
func (g *PayPalGateway) readCapture(ctx context.Context, op, id string) (paypalCapture, error) {
	resp, err := g.api.do(ctx, op, outgoing{method: http.MethodGet, url: g.base + "/v2/payments/captures/" + url.PathEscape(id)})
	if err != nil {
		return paypalCapture{}, err
	}
	var c paypalCapture
	if json.Unmarshal(resp.body, &c) != nil || c.Status == "" || c.Amount.CurrencyCode == "" {
		return c, g.api.fail(op, failure{errType: ErrGatewayUnavailable, msg: "PayPal answered GET /v2/payments/captures/{id} without a status and an amount"}, "")
	}
	return c, nil
}

// refundsMade lists this transaction's refunds that moved money or may
// still (not FAILED or CANCELLED). A capture whose status is not
// PARTIALLY_REFUNDED or REFUNDED has none, and nothing more is read.
// Otherwise PayPal's one listing of a capture's refunds is its order's
// payments (Orders v2, GET /v2/checkout/orders/{id}, the order named in
// the capture's supplementary_data): ours are those whose custom_id is the
// transaction. Refunds made another way (the dashboard) are not ours to
// judge; PayPal refuses ours if they leave too little.
func (g *PayPalGateway) refundsMade(ctx context.Context, op, txn string, c paypalCapture) ([]paypalRefund, error) {
	if c.Status != "PARTIALLY_REFUNDED" && c.Status != "REFUNDED" {
		return nil, nil
	}
	order := c.SupplementaryData.RelatedIDs.OrderID
	if order == "" {
		return nil, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("PayPal capture %s is %s and names no order to list its refunds by: not refunded again, sent to finance review to check at PayPal whether this transaction's refund exists", txn, sanitize(c.Status, 20))}, "")
	}
	resp, err := g.api.do(ctx, op, outgoing{method: http.MethodGet, url: g.base + "/v2/checkout/orders/" + url.PathEscape(order)})
	if err != nil {
		return nil, err
	}
	var o struct {
		PurchaseUnits []struct {
			Payments struct {
				Refunds []paypalRefund `json:"refunds"`
			} `json:"payments"`
		} `json:"purchase_units"`
	}
	if json.Unmarshal(resp.body, &o) != nil || len(o.PurchaseUnits) == 0 {
		return nil, g.api.fail(op, failure{errType: ErrGatewayUnavailable, msg: "PayPal answered GET /v2/checkout/orders/{id} without purchase units"}, "")
	}
	var made []paypalRefund
	for _, pu := range o.PurchaseUnits {
		for _, r := range pu.Payments.Refunds {
			if r.CustomID == txn && r.Status != "FAILED" && r.Status != "CANCELLED" {
				made = append(made, r)
			}
		}
	}
	return made, nil
}

func describePayPalRefunds(refunds []paypalRefund) string {
	parts := make([]string, len(refunds))
	for i, r := range refunds {
		parts[i] = fmt.Sprintf("refund %s of %s %s (%s)", gatewayReference(r.ID), sanitize(r.Amount.Value, 32), sanitize(r.Amount.CurrencyCode, 3), sanitize(r.Status, 20))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return fmt.Sprintf("%d refunds: %s", len(parts), strings.Join(parts, ", "))
}

// Check reads the refund: GET /v2/payments/refunds/{id}. Its status is
// PayPal's word, lower-cased (pending, completed, failed, cancelled), and
// status_details.reason the reason.
func (g *PayPalGateway) Check(ctx context.Context, c SettlementCheck) (remediation.GatewayEvent, error) {
	ev := pollEvent("paypal", c)
	if c.GatewayReference == "" {
		return ev, nil
	}
	op := fmt.Sprintf("check refund %s of %s", c.GatewayReference, c.TransactionID)
	resp, err := g.api.do(ctx, op, outgoing{method: http.MethodGet, url: g.base + "/v2/payments/refunds/" + url.PathEscape(c.GatewayReference)})
	if err != nil {
		return ev, err
	}
	var refund paypalRefund
	if json.Unmarshal(resp.body, &refund) != nil || refund.Status == "" {
		return ev, g.api.fail(op, failure{errType: ErrGatewayUnavailable, msg: "PayPal answered GET /v2/payments/refunds/{id} without a refund status"}, "")
	}
	ev.Status, ev.Reason = strings.ToLower(refund.Status), sanitize(refund.StatusDetails.Reason, 120)
	return ev, nil
}

// paypalError is PayPal's error body.
type paypalError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	DebugID string `json:"debug_id"`
	Details []struct {
		Issue       string `json:"issue"`
		Description string `json:"description"`
	} `json:"details"`
	// An OAuth error (a 401 from the API) is in the token endpoint's shape.
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// classifyPayPal maps PayPal's answers onto the retry policy: 408, 429
// (Retry-After honoured) and 5xx are retried; every other status is final
// and names PayPal's issue codes, so finance reads CAPTURE_FULLY_REFUNDED,
// REFUND_TIME_LIMIT_EXCEEDED or TRANSACTION_DISPUTED in the review.
func classifyPayPal(r remote, resp *response) failure {
	var pe paypalError
	_ = json.Unmarshal(resp.body, &pe)
	msg := fmt.Sprintf("PayPal answered %s", statusText(resp.status))
	if pe.Name != "" {
		msg += " " + sanitize(pe.Name, 60)
	} else if pe.Error != "" {
		msg += " " + sanitize(pe.Error, 60)
	}
	var issues []string
	for _, d := range pe.Details {
		if d.Issue == "" {
			continue
		}
		issue := sanitize(d.Issue, 60)
		if d.Description != "" {
			issue += " (" + sanitize(d.Description, 160) + ")"
		}
		issues = append(issues, issue)
	}
	switch {
	case len(issues) > 0:
		msg += ": " + strings.Join(issues, "; ")
	case pe.Message != "":
		msg += ": " + sanitize(pe.Message, maxExcerpt)
	case pe.ErrorDescription != "":
		msg += ": " + sanitize(pe.ErrorDescription, maxExcerpt)
	case len(resp.body) > 0 && pe.Name == "":
		msg += quoteExcerpt(resp.body)
	}
	if id := pe.DebugID; id != "" {
		msg += " [debug_id " + sanitize(id, 40) + "]"
	} else if id := resp.header.Get("Paypal-Debug-Id"); id != "" {
		msg += " [debug_id " + sanitize(id, 40) + "]"
	}
	if retryableStatus(resp.status) {
		return failure{errType: r.unavailable, retryAfter: retryAfter(resp.header, time.Now()), msg: msg}
	}
	return failure{errType: r.rejected, final: true, msg: msg}
}
