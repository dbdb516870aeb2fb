package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/paypalverify"
	"github.com/refundflow/refundflow/internal/remediation"
)

// webhookVerifier asks a gateway whether a webhook delivery is genuine
// (PayPal's verify-webhook-signature); tests put a fake in its place.
type webhookVerifier interface {
	Verify(ctx context.Context, h http.Header, event []byte) (bool, error)
}

// paypalWebhookID is the shape PayPal's spec gives a webhook ID.
var paypalWebhookID = regexp.MustCompile(`^[a-zA-Z0-9]{1,50}$`)

// verifier is the PayPal verifier the config asks for: nil (every PayPal
// event refused) without a webhook ID.
func (c PayPalWebhookConfig) verifier() (webhookVerifier, error) {
	if strings.TrimSpace(c.WebhookID) == "" {
		return nil, nil
	}
	var errs []error
	if !paypalWebhookID.MatchString(c.WebhookID) {
		errs = append(errs, errors.New("REFUNDFLOW_PAYPAL_WEBHOOK_ID: must be PayPal's webhook ID, 1-50 letters and digits"))
	}
	if strings.TrimSpace(c.ClientID) == "" || strings.TrimSpace(c.ClientSecret) == "" {
		errs = append(errs, errors.New("REFUNDFLOW_PAYPAL_CLIENT_ID and REFUNDFLOW_PAYPAL_CLIENT_SECRET: required with REFUNDFLOW_PAYPAL_WEBHOOK_ID (PayPal's webhooks are verified by asking PayPal)"))
	}
	if !strings.HasPrefix(c.BaseURL, "https://") && !strings.HasPrefix(c.BaseURL, "http://") {
		errs = append(errs, fmt.Errorf("REFUNDFLOW_PAYPAL_BASE_URL: must be an absolute http(s) URL"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return paypalverify.New(paypalverify.Config{
		BaseURL: c.BaseURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret, WebhookID: c.WebhookID,
		HTTP: &http.Client{Timeout: paypalVerifyTimeout},
	}), nil
}

// paypalVerifyTimeout bounds one question to PayPal; PayPal waits about
// 30 s for our answer.
const paypalVerifyTimeout = 10 * time.Second

// paypalEvent is the part of a PayPal webhook event this reads.
type paypalEvent struct {
	ID           string `json:"id"`
	EventType    string `json:"event_type"`
	ResourceType string `json:"resource_type"`
	CreateTime   string `json:"create_time"`
	Resource     struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		CustomID      string `json:"custom_id"`
		StatusDetails struct {
			Reason string `json:"reason"`
		} `json:"status_details"`
		Links []struct {
			Href string `json:"href"`
			Rel  string `json:"rel"`
		} `json:"links"`
	} `json:"resource"`
}

// The PayPal events about refunds (developer.paypal.com/api/rest/webhooks/
// event-names, Payments v2): a capture refunded (the refund as resource,
// its status COMPLETED, or PENDING / FAILED as it moves), and a capture
// PayPal reversed.
const (
	paypalCaptureRefunded = "PAYMENT.CAPTURE.REFUNDED"
	paypalCaptureReversed = "PAYMENT.CAPTURE.REVERSED"
)

// handlePayPalEvent is POST /v1/gateway-events/paypal. Nothing in the
// body is believed before PayPal has verified the delivery.
func (s *server) handlePayPalEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := readGatewayEvent(w, r)
	if !ok {
		return
	}
	if s.paypal == nil {
		writeBadRequest(w, "PayPal webhooks are not configured (REFUNDFLOW_PAYPAL_WEBHOOK_ID)", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.startTimeout+paypalVerifyTimeout)
	defer cancel()
	verified, err := s.paypal.Verify(ctx, r.Header, body)
	if err != nil {
		// PayPal could not say: it sends the event again.
		s.logger.WarnContext(r.Context(), "PayPal webhook not verified: PayPal unavailable; answered 503 so PayPal retries", "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, "PayPal could not verify the webhook; retry later")
		return
	}
	if !verified {
		writeBadRequest(w, "PayPal did not verify this webhook", []string{paypalverify.HeaderTransmissionSig})
		return
	}
	var ev paypalEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.EventType == "" {
		writeBadRequest(w, "the body is not a PayPal webhook event", nil)
		return
	}
	if (ev.EventType != paypalCaptureRefunded && ev.EventType != paypalCaptureReversed) || ev.ResourceType != "refund" {
		// Verified, but not about a refund: nothing to do, and PayPal must not retry it.
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	txn := ev.Resource.CustomID
	if !remediation.ValidTransactionID(txn) {
		// The transaction is the capture ID, which the refund's "up" link names.
		txn = captureOf(ev)
	}
	if !remediation.ValidTransactionID(txn) {
		s.logger.WarnContext(r.Context(), "PayPal refund event without a usable custom_id or capture; ignored", "eventId", ev.ID, "refund", ev.Resource.ID)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	gev := remediation.GatewayEvent{
		EventID: ev.ID, Gateway: "paypal", GatewayReference: ev.Resource.ID,
		Status: strings.ToLower(ev.Resource.Status), Reason: ev.Resource.StatusDetails.Reason, OccurredAt: ev.CreateTime,
	}
	if ev.EventType == paypalCaptureReversed {
		// PayPal took the captured money back: whatever became of our
		// refund, finance must look. The resource is PayPal's reversal, not
		// our refund, so the event names no reference and applies to the
		// transaction's refund.
		gev.Status, gev.GatewayReference, gev.Reason = "reversed", "", "PayPal reversed the payment capture ("+paypalCaptureReversed+")"
	}
	if remediation.SettlementOf(gev.Status) == remediation.SettlementUnknown {
		s.logger.WarnContext(r.Context(), "PayPal refund event with a status no rule knows; ignored", "eventId", ev.ID, "status", ev.Resource.Status)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	s.deliverGatewayEvent(w, r, txn, gev)
}

// captureOf is the capture a refund belongs to, from its "up" link
// (.../v2/payments/captures/{id}).
func captureOf(ev paypalEvent) string {
	for _, l := range ev.Resource.Links {
		if l.Rel != "up" {
			continue
		}
		if _, id, ok := strings.Cut(l.Href, "/v2/payments/captures/"); ok && !strings.Contains(id, "/") {
			return id
		}
	}
	return ""
}
