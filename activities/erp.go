package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

// ERPGateway submits refunds and chargebacks to the ERP's JSON API with an
// OAuth 2.0 client-credentials token (contract section 4).
type ERPGateway struct {
	api           *apiClient
	refundURL     string
	chargebackURL string
	statusURL     string
	logger        *slog.Logger
}

// NewERPGateway builds the ERP gateway on client (one per remote, see
// NewHTTPClient); the token requests go through the same client.
func NewERPGateway(cfg GatewayConfig, client *http.Client, logger *slog.Logger) (*ERPGateway, error) {
	logger = orDiscard(logger)
	r := gatewayRemote("gateway")
	return &ERPGateway{
		api: &apiClient{
			http:    client,
			creds:   newOAuthCredentials(cfg.TokenURL, cfg.ClientID, cfg.ClientSecret, cfg.Scopes, client, r),
			timeout: cfg.Timeout,
			remote:  r,
			logger:  logger,
		},
		refundURL:     cfg.RefundURL,
		chargebackURL: cfg.ChargebackURL,
		statusURL:     cfg.StatusURL,
		logger:        logger,
	}, nil
}

// erpRequest is the contract's body, field for field and in its order.
type erpRequest struct {
	TransactionID string      `json:"transactionId"`
	CustomerID    string      `json:"customerId"`
	RefundAmount  json.Number `json:"refundAmount"`
	Currency      string      `json:"currency"`
	ReasonCode    string      `json:"reasonCode"`
	InitiatedBy   string      `json:"initiatedBy"`
	Timestamp     string      `json:"timestamp"`
}

// Submit POSTs the refund or chargeback. The Idempotency-Key is the
// workflow's, so a retry after a timeout (or a crash) cannot refund twice.
func (g *ERPGateway) Submit(ctx context.Context, s Submission) (SubmissionResult, error) {
	op := fmt.Sprintf("submit %s %s", s.Action, s.TransactionID)
	var target string
	switch s.Action {
	case remediation.ActionRefund:
		target = g.refundURL
	case remediation.ActionChargeback:
		target = g.chargebackURL
	default:
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("%s: the gateway takes refunds and chargebacks only", op))
	}
	if err := checkSubmission(op, s); err != nil {
		return SubmissionResult{}, err
	}
	// Major units as a JSON number written from the integer minor units:
	// 4999 USD is 49.99 exactly, never a float64 approximation.
	amount, err := money.JSONNumber(s.AmountMinor, s.Currency)
	if err != nil {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("%s: %v", op, err))
	}
	body, err := json.Marshal(erpRequest{
		TransactionID: s.TransactionID,
		CustomerID:    s.CustomerID,
		RefundAmount:  amount,
		Currency:      s.Currency,
		ReasonCode:    s.DispositionCode,
		InitiatedBy:   remediation.InitiatedBy,
		Timestamp:     s.Timestamp,
	})
	if err != nil {
		return SubmissionResult{}, invalidRequest(fmt.Sprintf("%s: encode body: %v", op, err))
	}
	resp, err := g.api.do(ctx, op, outgoing{
		method:      http.MethodPost,
		url:         target,
		contentType: "application/json",
		body:        body,
		header:      http.Header{"Idempotency-Key": {s.IdempotencyKey}},
	})
	if err != nil {
		return SubmissionResult{}, err
	}
	if resp.status != http.StatusOK && resp.status != http.StatusCreated && resp.status != http.StatusAccepted {
		// Another 2xx does not say the refund was taken. Calling it
		// Completed could be wrong; sending it again could refund twice if
		// the gateway ignores the key. A human checks.
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("gateway answered %s, not 200, 201 or 202: check with the gateway whether it was made before approving%s", statusText(resp.status), quoteExcerpt(resp.body))}, "")
	}
	ref := referenceFrom(resp.body, "id", "refundId")
	word := erpWordFrom(resp.body)
	if resp.status == http.StatusAccepted && word.Status == "" {
		word.Status = "pending"
	}
	if remediation.SettlementOf(word.Status) == remediation.SettlementFailed {
		return SubmissionResult{}, g.api.fail(op, failure{errType: ErrGatewayRejected, final: true,
			msg: fmt.Sprintf("gateway answered %s with status %s%s", statusText(resp.status), sanitize(word.Status, 40), reasonSuffix(word.Reason))}, "")
	}
	g.logger.Info("gateway accepted the submission", "op", op, "status", resp.status, "gatewayReference", ref, "gatewayStatus", word.Status)
	return SubmissionResult{GatewayReference: ref, HTTPStatus: resp.status, GatewayStatus: word.Status}, nil
}

// erpWord is the ERP's word on a refund: in a submission's answer (optional)
// and at its status URL.
type erpWord struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// erpWordFrom reads {status, reason} from a body; a body without them (or
// not JSON) says nothing.
func erpWordFrom(body []byte) erpWord {
	var w erpWord
	_ = json.Unmarshal(body, &w)
	w.Status = strings.ToLower(strings.TrimSpace(w.Status))
	return w
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + sanitize(reason, 120) + ")"
}

// Check asks the ERP where a refund stands: GET <status URL>/<reference>.
// Without a status URL, or without a reference to ask about, it has nothing
// to say (an empty status): webhooks and the settlement timeout decide.
func (g *ERPGateway) Check(ctx context.Context, c SettlementCheck) (remediation.GatewayEvent, error) {
	ev := pollEvent("erp", c)
	if g.statusURL == "" || c.GatewayReference == "" {
		return ev, nil
	}
	op := fmt.Sprintf("check refund %s of %s", c.GatewayReference, c.TransactionID)
	resp, err := g.api.do(ctx, op, outgoing{method: http.MethodGet, url: strings.TrimRight(g.statusURL, "/") + "/" + url.PathEscape(c.GatewayReference)})
	if err != nil {
		return ev, err
	}
	word := erpWordFrom(resp.body)
	ev.Status, ev.Reason = word.Status, sanitize(word.Reason, 200)
	return ev, nil
}

// pollEvent is the gateway-event a poll answers with; its eventId is unique
// within the run that asked.
func pollEvent(gateway string, c SettlementCheck) remediation.GatewayEvent {
	return remediation.GatewayEvent{
		EventID:          fmt.Sprintf("poll:%d", c.Poll),
		Gateway:          gateway,
		GatewayReference: c.GatewayReference,
	}
}

// checkSubmission refuses what must never reach a gateway, whatever the
// workflow sent: no key (a retry could then refund twice) or no amount.
func checkSubmission(op string, s Submission) error {
	switch {
	case s.IdempotencyKey == "":
		return invalidRequest(op + ": no Idempotency-Key")
	case s.AmountMinor <= 0:
		return invalidRequest(fmt.Sprintf("%s: amount %d is not positive; a gateway is never sent 0", op, s.AmountMinor))
	}
	return nil
}

// checkRefundOnly is checkSubmission at a payment gateway (Stripe, Adyen,
// PayPal), where only the cardholder's bank opens a chargeback: a
// Chargeback_Requested disposition goes to finance review, saying why,
// before any call.
func checkRefundOnly(op, gateway, noChargeback string, s Submission) error {
	switch s.Action {
	case remediation.ActionRefund:
	case remediation.ActionChargeback:
		return configurationError(op + ": " + noChargeback + "; sent to finance review")
	default:
		return invalidRequest(op + ": " + gateway + " takes refunds only")
	}
	return checkSubmission(op, s)
}

// referenceFrom returns the first of keys that the JSON body holds as a
// string or a number. A body that is not a JSON object has none: the money
// moved all the same, so that is not an error.
func referenceFrom(body []byte, keys ...string) string {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return ""
	}
	for _, k := range keys {
		raw, ok := fields[k]
		if !ok {
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&v) != nil {
			continue
		}
		switch v := v.(type) {
		case string:
			if v = strings.TrimSpace(v); v != "" {
				return gatewayReference(v)
			}
		case json.Number:
			return v.String()
		}
	}
	return ""
}

// identifierShape is what a gateway's reference looks like: an opaque id.
var identifierShape = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// gatewayReference keeps an identifier exactly as the gateway wrote it:
// finance ops reconcile by it, and masking digits inside it, as sanitize
// does to any run of 13 or more (rf_813484******6555a7c...), would leave a
// reference that matches nothing. A numeric id is kept as is for the same
// reason. Anything that is not identifier-shaped is free text, sanitized.
func gatewayReference(v string) string {
	if identifierShape.MatchString(v) {
		return v
	}
	return sanitize(v, 128)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
