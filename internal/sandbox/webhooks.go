package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/stripesig"
)

// Webhook is one gateway event the sandbox sends to the starter (or does
// not, under a fault), as the ledger records it. It never holds the token
// it was sent with.
type Webhook struct {
	EventID       string    `json:"eventId"`
	Gateway       string    `json:"gateway"`
	TransactionID string    `json:"transactionId"`
	RefundID      string    `json:"refundId"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	OccurredAt    time.Time `json:"occurredAt"`
	// Fault is the injected fault: dropped, duplicated (this is the second
	// copy), reordered, delayed or bad_signature; empty for none.
	Fault string `json:"fault,omitempty"`
	// State is queued, held (reordered: sent after the refund's next event),
	// sending, delivered, refused (a 4xx: a gateway does not retry it),
	// failed (still 5xx or unreachable after every attempt), dropped (a
	// delivery lost; the event is queued again, see redeliverAfter), or
	// unsent (no SANDBOX_WEBHOOK_URL). A bad_signature one is a forgery
	// sent beside the genuine event.
	State      string     `json:"state"`
	SendAt     time.Time  `json:"sendAt"`
	Attempts   int        `json:"attempts"`
	HTTPStatus int        `json:"httpStatus,omitempty"`
	Answer     string     `json:"answer,omitempty"`
	Error      string     `json:"error,omitempty"`
	SentAt     *time.Time `json:"sentAt,omitempty"`
	// Body is exactly what is (or would have been) posted.
	Body json.RawMessage `json:"body"`
}

// Webhook states.
const (
	webhookQueued    = "queued"
	webhookHeld      = "held"
	webhookSending   = "sending"
	webhookDelivered = "delivered"
	webhookRefused   = "refused"
	webhookFailed    = "failed"
	webhookDropped   = "dropped"
	webhookUnsent    = "unsent"
)

// Webhook faults.
const (
	faultDropped      = "dropped"
	faultDuplicated   = "duplicated"
	faultReordered    = "reordered"
	faultDelayed      = "delayed"
	faultBadSignature = "bad_signature"
)

// webhookAttempts is how often a webhook answered 5xx, or not at all, is
// sent before the sandbox gives up; a gateway retries for days, the
// sandbox for a few seconds (the worker's polls cover the rest).
const webhookAttempts = 4

// webhookRetryBase is the first wait between attempts; it doubles.
const webhookRetryBase = 250 * time.Millisecond

// reorderGap is how long after the later event a held one is sent.
const reorderGap = 200 * time.Millisecond

// wrongEventToken is the Bearer a bad_signature ERP webhook carries.
const wrongEventToken = "sandbox-forged-event-token"

// wrongStripeSecret signs a bad_signature Stripe webhook.
const wrongStripeSecret = "whsec_sandbox_forged"

// StripeSignature is a Stripe-Signature header: t=<unix>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" under the endpoint's secret>, Stripe's
// scheme (https://docs.stripe.com/webhooks#verify-manually).
func StripeSignature(secret string, t int64, body []byte) string {
	return stripesig.Sign(secret, t, body)
}

// stripeEventBody is a Stripe event of the refund's latest change:
// refund.created at creation, refund.failed for a failure, refund.updated
// otherwise, with the refund as data.object and, for a change, the
// previous status in data.previous_attributes.
func stripeEventBody(sub *Submission, eventID string, first bool) json.RawMessage {
	change := sub.History[len(sub.History)-1]
	typ := "refund.updated"
	switch {
	case first:
		typ = "refund.created"
	case change.Status == statusFailed:
		typ = "refund.failed"
	}
	data := map[string]any{"object": stripeRefundObject(sub)}
	if !first && len(sub.History) > 1 {
		data["previous_attributes"] = map[string]any{"status": sub.History[len(sub.History)-2].Status}
	}
	b, _ := json.Marshal(map[string]any{
		"id":               eventID,
		"object":           "event",
		"api_version":      stripeAPIVersion,
		"created":          change.At.Unix(),
		"data":             data,
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             typ,
	})
	return b
}

// erpEventBody is the ERP webhook's body (docs/api.md).
type erpEventBody struct {
	EventID       string `json:"eventId"`
	TransactionID string `json:"transactionId"`
	RefundID      string `json:"refundId"`
	Status        string `json:"status"`
	Reason        string `json:"reason"`
	OccurredAt    string `json:"occurredAt"`
}

// webhookFaultRule is a fault a transaction ID asks for (PENDING-DROP-...,
// PENDFAIL-DUP-...): the same fault for every event of its refund, but a
// reordering, which holds back the first event until after the second.
func webhookFaultRule(txn string, first bool) string {
	if f := paypalWebhookFaultRule(txn, first); f != "" {
		return f
	}
	switch {
	case strings.Contains(txn, "-DROP-"):
		return faultDropped
	case strings.Contains(txn, "-BADSIG-"):
		return faultBadSignature
	case strings.Contains(txn, "-DUP-"):
		return faultDuplicated
	case strings.Contains(txn, "-REORDER-"):
		if first {
			return faultReordered
		}
	case strings.Contains(txn, "-LATE-"):
		return faultDelayed
	}
	return ""
}

// webhookFault decides the fault of one event: a rule of its transaction,
// else the dice. Callers hold mu.
func (s *Server) webhookFault(sub *Submission, first bool) string {
	rule := webhookFaultRule
	if sub.Gateway == gatewayAdyen {
		rule = adyenWebhookFaultRule
	}
	if f := rule(sub.TransactionID, first); f != "" {
		return f
	}
	for _, c := range []struct {
		rate  float64
		fault string
	}{
		{s.cfg.WebhookFaultDrop, faultDropped},
		{s.cfg.WebhookFaultBadSignature, faultBadSignature},
		{s.cfg.WebhookFaultDuplicate, faultDuplicated},
		{s.cfg.WebhookFaultReorder, faultReordered},
		{s.cfg.WebhookFaultDelay, faultDelayed},
	} {
		if s.roll(c.rate) {
			return c.fault
		}
	}
	return ""
}

// queueWebhook records the event of the refund's latest status change and
// when it goes out. Callers hold mu.
func (s *Server) queueWebhook(sub *Submission, first bool) {
	change := sub.History[len(sub.History)-1]
	gateway := "erp"
	if sub.Gateway == gatewayStripe || sub.Gateway == gatewayAdyen || sub.Gateway == gatewayPayPal {
		gateway = sub.Gateway
	}
	wh := &Webhook{
		EventID:       newID("evt_"),
		Gateway:       gateway,
		TransactionID: sub.TransactionID,
		RefundID:      sub.Reference,
		Status:        change.Status,
		Reason:        change.Reason,
		OccurredAt:    change.At,
		State:         webhookQueued,
		SendAt:        s.now().UTC(),
	}
	switch gateway {
	case gatewayStripe:
		wh.Body = stripeEventBody(sub, wh.EventID, first)
	case gatewayAdyen:
		wh.EventID, wh.Body = s.adyenNotification(sub)
	case gatewayPayPal:
		wh.EventID = "WH-" + paypalID(17) + "-" + paypalID(17)
		wh.Body = s.paypalEventBody(sub, wh.EventID)
	default:
		wh.Body, _ = json.Marshal(erpEventBody{
			EventID: wh.EventID, TransactionID: wh.TransactionID, RefundID: wh.RefundID,
			Status: wh.Status, Reason: wh.Reason, OccurredAt: wh.OccurredAt.Format(time.RFC3339Nano),
		})
	}
	stats := s.ledger.Stats.Webhooks
	stats["events"]++
	if s.cfg.WebhookURL == "" {
		wh.State = webhookUnsent
		stats[webhookUnsent]++
		s.ledger.Webhooks = append(s.ledger.Webhooks, wh)
		return
	}
	wh.Fault = s.webhookFault(sub, first)
	if wh.Fault != "" {
		stats[wh.Fault]++
		s.ledger.Stats.Faults["webhook_"+wh.Fault]++
	}
	switch wh.Fault {
	case faultDropped:
		wh.State = webhookDropped
	case faultDelayed:
		wh.SendAt = wh.SendAt.Add(s.cfg.WebhookDelay)
	case faultReordered:
		// Sent once the refund's next event has gone; if none comes, after
		// the delay.
		wh.State = webhookHeld
		wh.SendAt = wh.SendAt.Add(max(s.cfg.WebhookDelay, 2*s.cfg.SettleAfter))
	}
	s.ledger.Webhooks = append(s.ledger.Webhooks, wh)
	switch wh.Fault {
	case faultDuplicated:
		// The original goes out clean; the copy, same event, just after.
		wh.Fault = ""
		dup := *wh
		dup.Fault = faultDuplicated
		dup.SendAt = wh.SendAt.Add(reorderGap)
		s.ledger.Webhooks = append(s.ledger.Webhooks, &dup)
	case faultDropped:
		// The delivery is lost on the way. A gateway delivers again what
		// was not acknowledged (Stripe for 3 days, Adyen and PayPal alike),
		// so the event comes back, later than a poll: the worker's polls
		// settle a pending refund first, and a reversal after the end still
		// arrives. One lost for good is the reconciliation's to find.
		again := *wh
		again.Fault, again.State = "", webhookQueued
		again.SendAt = wh.SendAt.Add(s.redeliverAfter())
		s.ledger.Webhooks = append(s.ledger.Webhooks, &again)
	case faultBadSignature:
		// A forged event, sent beside the gateway's genuine one: it must be
		// refused and change nothing, and the genuine one still counts.
		genuine := *wh
		genuine.Fault = ""
		genuine.SendAt = wh.SendAt.Add(reorderGap)
		s.ledger.Webhooks = append(s.ledger.Webhooks, &genuine)
	}
	s.dirty = true
}

// redeliverAfter is when a dropped webhook is delivered again: well after
// the settle delay and a delayed webhook, as a gateway's first retry is.
func (s *Server) redeliverAfter() time.Duration {
	return 4 * max(s.cfg.WebhookDelay, s.cfg.SettleAfter, time.Second)
}

// dueWebhooks marks the webhooks due now as sending and returns them; a
// held one is released to go just after a later event of its refund.
// Callers hold mu.
func (s *Server) dueWebhooks(now time.Time) []*Webhook {
	var due []*Webhook
	for _, wh := range s.ledger.Webhooks {
		if (wh.State != webhookQueued && wh.State != webhookHeld) || now.Before(wh.SendAt) {
			continue
		}
		wh.State = webhookSending
		due = append(due, wh)
		for _, held := range s.ledger.Webhooks {
			if held.State == webhookHeld && held.RefundID == wh.RefundID && held.OccurredAt.Before(wh.OccurredAt) {
				held.State = webhookQueued
				held.SendAt = now.Add(reorderGap)
			}
		}
	}
	if len(due) > 0 {
		s.dirty = true
	}
	return due
}

// deliver posts one webhook, retrying a 5xx or a failed connection a few
// times as a gateway does, and records the outcome.
func (s *Server) deliver(ctx context.Context, wh *Webhook) {
	s.mu.Lock()
	url := strings.TrimRight(s.cfg.WebhookURL, "/") + "/v1/gateway-events/" + wh.Gateway
	token := s.cfg.GatewayEventToken
	if wh.Fault == faultBadSignature {
		token = wrongEventToken
	}
	secret := s.cfg.StripeWebhookSecret
	if wh.Fault == faultBadSignature {
		// The right scheme and a fresh time, but the HMAC of another
		// secret: only checking the signature refuses it.
		secret = wrongStripeSecret
	}
	body := wh.Body
	if wh.Gateway == gatewayAdyen && wh.Fault == faultBadSignature {
		// Adyen's shape and fields, but signed with another key: only
		// checking each item's HMAC refuses it.
		body = signAdyenNotification(body, wrongAdyenHMACKey)
	}
	adyenUser, adyenPassword := s.cfg.AdyenWebhookUsername, s.cfg.AdyenWebhookPassword
	s.mu.Unlock()
	header := func() http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		switch wh.Gateway {
		case gatewayAdyen:
			h.Set("User-Agent", "Adyen HttpClient 1.0")
			if adyenUser != "" {
				h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(adyenUser+":"+adyenPassword)))
			}
		case gatewayStripe:
			// Signed at each attempt, as Stripe does: t is the time of sending.
			h.Set("Stripe-Signature", StripeSignature(secret, s.now().Unix(), body))
			h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
		case gatewayPayPal:
			// A transmission of its own at each attempt, as PayPal does.
			s.paypalSign(h, wh, wh.Fault == faultBadSignature)
		default:
			h.Set("Authorization", "Bearer "+token)
		}
		return h
	}

	var status int
	var answer, errText string
	attempts := 0
	for attempts < webhookAttempts {
		if attempts > 0 {
			s.sleep(webhookRetryBase<<(attempts-1), ctx.Done())
			if ctx.Err() != nil {
				break
			}
		}
		attempts++
		status, answer, errText = s.post(ctx, url, header(), body)
		if status >= 200 && status < 500 {
			break
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	sent := s.now().UTC()
	wh.SentAt = &sent
	wh.Attempts += attempts
	wh.HTTPStatus, wh.Answer, wh.Error = status, answer, errText
	stats := s.ledger.Stats.Webhooks
	stats["attempts"] += attempts
	switch {
	case status >= 200 && status < 300:
		wh.State = webhookDelivered
	case status >= 400 && status < 500:
		wh.State = webhookRefused
	case ctx.Err() != nil && attempts < webhookAttempts:
		// Stopped meanwhile: sent again after a restart from the state file.
		wh.State = webhookQueued
		return
	default:
		wh.State = webhookFailed
	}
	stats[wh.State]++
}

// post sends one attempt: the status (0 if none came), the starter's
// "status" field and, without an answer, the error.
func (s *Server) post(ctx context.Context, url string, header http.Header, body []byte) (int, string, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err.Error()
	}
	req.Header = header
	resp, err := s.webhookClient.Do(req)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	_ = json.Unmarshal(raw, &answer)
	text := answer.Status
	if text == "" {
		text = answer.Error
	}
	if text == "" && !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		// Adyen's webhooks are answered "[accepted]", not JSON.
		text = strings.TrimSpace(string(raw))
	}
	if len(text) > 200 {
		text = text[:200]
	}
	return resp.StatusCode, text, statusError(resp.StatusCode)
}

func statusError(code int) string {
	if code >= 200 && code < 300 {
		return ""
	}
	return fmt.Sprintf("answered %d", code)
}
