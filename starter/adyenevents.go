package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/adyensig"
	"github.com/refundflow/refundflow/internal/remediation"
)

// adyenAccepted is the answer Adyen's standard webhooks expect, so that
// Adyen marks the delivery done and stops retrying.
const adyenAccepted = "[accepted]"

// adyenNotification is Adyen's standard webhook: a batch of items, each
// signed on its own (additionalData.hmacSignature).
type adyenNotification struct {
	Live              string `json:"live"`
	NotificationItems []struct {
		Item *adyenNotificationItem `json:"NotificationRequestItem"`
	} `json:"notificationItems"`
}

// adyenNotificationItem is what of a NotificationRequestItem this reads.
type adyenNotificationItem struct {
	AdditionalData map[string]any `json:"additionalData"`
	Amount         struct {
		Currency string `json:"currency"`
		Value    int64  `json:"value"`
	} `json:"amount"`
	EventCode           string `json:"eventCode"`
	EventDate           string `json:"eventDate"`
	MerchantAccountCode string `json:"merchantAccountCode"`
	MerchantReference   string `json:"merchantReference"`
	OriginalReference   string `json:"originalReference"`
	PSPReference        string `json:"pspReference"`
	Reason              string `json:"reason"`
	Success             string `json:"success"`
}

func (it *adyenNotificationItem) signed() adyensig.Item {
	return adyensig.Item{
		PSPReference: it.PSPReference, OriginalReference: it.OriginalReference,
		MerchantAccountCode: it.MerchantAccountCode, MerchantReference: it.MerchantReference,
		Value: it.Amount.Value, Currency: it.Amount.Currency, EventCode: it.EventCode, Success: it.Success,
	}
}

// adyenBasicAuth is the optional user name and password Adyen sends with
// its webhooks (set in the Customer Area with the webhook), kept as
// digests like every other credential here.
type adyenBasicAuth struct {
	user, password secret
}

// handleAdyenEvent is POST /v1/gateway-events/adyen. Every item's HMAC is
// verified before any is applied: one that does not verify refuses the
// whole notification, 400, nothing applied and nothing of the body logged.
// A verified notification is answered 200 "[accepted]" once each of its
// refund items is handed to its workflow (or was about nothing open); a
// Temporal outage is a 503, and Adyen delivers the batch again (a repeat
// is ignored by the workflow: the eventId is the item's).
func (s *server) handleAdyenEvent(w http.ResponseWriter, r *http.Request) {
	if a := s.adyenBasic; a != nil {
		user, password, ok := r.BasicAuth()
		// Both compared, always, so the time says nothing of which failed.
		userOK := a.user.equal(newSecret(user))
		passwordOK := a.password.equal(newSecret(password))
		if !ok || !userOK || !passwordOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="adyen-webhooks"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid Basic credentials")
			return
		}
	}
	body, ok := readGatewayEvent(w, r)
	if !ok {
		return
	}
	var n adyenNotification
	if err := json.Unmarshal(body, &n); err != nil || len(n.NotificationItems) == 0 {
		writeBadRequest(w, "the body is not an Adyen notification", nil)
		return
	}
	for _, wrapped := range n.NotificationItems {
		it := wrapped.Item
		if it == nil {
			writeBadRequest(w, "the body is not an Adyen notification", []string{"NotificationRequestItem"})
			return
		}
		sig, _ := it.AdditionalData["hmacSignature"].(string)
		if !adyensig.Verify(sig, it.signed(), s.adyenHMACKeys) {
			writeBadRequest(w, "additionalData.hmacSignature does not verify", []string{"hmacSignature"})
			return
		}
	}
	for _, wrapped := range n.NotificationItems {
		it := wrapped.Item
		ev, ok := adyenGatewayEvent(it)
		if !ok {
			// Signed, but not a refund's outcome: nothing to do, and Adyen
			// must not retry it.
			continue
		}
		txn := it.MerchantReference
		if !remediation.ValidTransactionID(txn) {
			s.logger.WarnContext(r.Context(), "Adyen refund event without a usable merchantReference; ignored",
				"eventId", ev.EventID, "refund", it.PSPReference)
			continue
		}
		if _, err := s.handOverGatewayEvent(r, txn, ev); err != nil {
			s.temporalFailed(w, r, "signal Adyen event", err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(adyenAccepted))
}

// adyenGatewayEvent is the gateway-event an item means: REFUND success
// true is succeeded and false failed, REFUND_FAILED (the scheme failed a
// refund Adyen had reported done) failed, REFUNDED_REVERSED (the money came
// back to the merchant) reversed. Anything else is no refund outcome. The
// eventId is pspReference, eventCode and success, which together name one
// event at Adyen: a redelivery carries the same.
func adyenGatewayEvent(it *adyenNotificationItem) (remediation.GatewayEvent, bool) {
	success := strings.EqualFold(it.Success, "true")
	var status string
	switch it.EventCode {
	case "REFUND":
		status = "failed"
		if success {
			status = "succeeded"
		}
	case "REFUND_FAILED":
		status = "refund_failed"
	case "REFUNDED_REVERSED":
		if !success {
			return remediation.GatewayEvent{}, false
		}
		status = "refunded_reversed"
	default:
		return remediation.GatewayEvent{}, false
	}
	ev := remediation.GatewayEvent{
		EventID:          "adyen:" + it.PSPReference + ":" + it.EventCode + ":" + strings.ToLower(it.Success),
		Gateway:          "adyen",
		GatewayReference: it.PSPReference,
		Status:           status,
	}
	if status != "succeeded" {
		ev.Reason = it.Reason
	}
	if at, err := time.Parse(time.RFC3339, it.EventDate); err == nil {
		ev.OccurredAt = at.UTC().Format(time.RFC3339)
	}
	return ev, true
}
