package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/adyensig"
)

// The sandbox's Adyen: the one Checkout API call the worker's Adyen
// gateway makes, POST /v71/payments/{paymentPspReference}/refunds, served
// under /adyen (REFUNDFLOW_ADYEN_BASE_URL=<sandbox>/adyen). Every request
// is checked against Adyen's published Checkout v71 spec first
// (adyenspec.go); a refund is kept, replayed by its Idempotency-Key, and
// its outcome is sent later as an HMAC-signed standard webhook, as at
// Adyen, under a rule of the payment's pspReference. A pspReference is 16
// letters and digits, so the rules are letters at its start:
//
//	PEND...      received; REFUND success=true after SANDBOX_SETTLE_AFTER
//	PFAIL...     received; REFUND success=false (with a reason) after the delay
//	RFAIL...     REFUND success=true at once; REFUND_FAILED after the delay
//	REVERSE...   REFUND success=true at once; REFUNDED_REVERSED after the delay
//	FAIL...      503 until POST /sandbox/heal/{pspReference}
//	FAIL<n>X...  503 for the first n calls of the key, then taken
//	REJECT...    422, final
//	HANG...      recorded, then answered only after SANDBOX_HANG_FOR
//	any other    received; REFUND success=true at once
//
// A renewed key (<key>:r<n>, finance's approval after a failure) is taken
// as any other. The webhook faults are letters anywhere in the
// pspReference: DROP, DUP, REORDER, LATE, BADSIG (see webhooks.go).

const (
	gatewayAdyen = "adyen"
	// adyenPrefix is where the Adyen side is served.
	adyenPrefix = "/adyen"
	// wrongAdyenHMACKey signs a bad_signature Adyen webhook.
	wrongAdyenHMACKey = "0badc0de0badc0de0badc0de0badc0de"
	// lifecycleRefundFailed: succeeded, then failed by the scheme.
	lifecycleRefundFailed = "refundfailed"
	// lifecycleReceived: received, then succeeded at once by webhook.
	lifecycleReceived = "received"
)

// The reasons Adyen's rules give, in Adyen's words where it has them.
const (
	adyenReasonPendFail   = "sandbox rule PFAIL: Refund declined by the issuer"
	adyenReasonRefundFail = "sandbox rule RFAIL: Refund Failed"
	adyenReasonReverse    = "sandbox rule REVERSE: the refunded amount was returned by the shopper's bank"
)

var (
	adyenPSPReference = regexp.MustCompile(`^[A-Za-z0-9]{16}$`)
	adyenFailRule     = regexp.MustCompile(`^FAIL(?:([1-9])X)?`)
)

// adyenLifecycleOf names the rule a new Adyen refund follows.
func adyenLifecycleOf(payment, key string) string {
	if renewedKey.MatchString(key) {
		return lifecycleReceived
	}
	switch {
	case strings.HasPrefix(payment, "PEND"):
		return lifecyclePending
	case strings.HasPrefix(payment, "PFAIL"):
		return lifecyclePendFail
	case strings.HasPrefix(payment, "RFAIL"):
		return lifecycleRefundFailed
	case strings.HasPrefix(payment, "REVERSE"):
		return lifecycleReverse
	}
	return lifecycleReceived
}

// adyenWebhookFaultRule is the webhook fault an Adyen pspReference asks for.
func adyenWebhookFaultRule(payment string, first bool) string {
	switch {
	case strings.Contains(payment, "DROP"):
		return faultDropped
	case strings.Contains(payment, "BADSIG"):
		return faultBadSignature
	case strings.Contains(payment, "DUP"):
		return faultDuplicated
	case strings.Contains(payment, "REORDER"):
		if first {
			return faultReordered
		}
	case strings.Contains(payment, "LATE"):
		return faultDelayed
	}
	return ""
}

// adyenRefundRequest is what the handler reads of the body (the spec check
// has already refused anything else).
type adyenRefundRequest struct {
	MerchantAccount string `json:"merchantAccount"`
	Amount          struct {
		Currency string `json:"currency"`
		Value    int64  `json:"value"`
	} `json:"amount"`
	Reference            string `json:"reference"`
	MerchantRefundReason string `json:"merchantRefundReason"`
}

// adyenHandler serves everything under /adyen.
func (s *Server) adyenHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+adyenPrefix+"/v71/payments/{paymentPspReference}/refunds", s.adyenRefund)
	mux.HandleFunc(adyenPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		adyenFail(w, http.StatusNotFound, "000", "validation", "Unsupported path: "+strings.TrimPrefix(r.URL.Path, adyenPrefix))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(splitList(s.cfg.AdyenAPIKeys), r.Header.Get("X-API-Key")) || r.Header.Get("X-API-Key") == "" {
			s.mu.Lock()
			s.ledger.Stats.TokensRejected++
			s.dirty = true
			s.mu.Unlock()
			adyenFail(w, http.StatusUnauthorized, "000", "security", "HTTP Status Response - Unauthorized")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			adyenFail(w, http.StatusBadRequest, "702", "validation", "could not read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		problem, err := adyenRequestProblem(r, body)
		if err != nil {
			adyenFail(w, http.StatusInternalServerError, "000", "internal", err.Error())
			return
		}
		if problem != "" {
			s.mu.Lock()
			s.noteSpecViolation(fmt.Sprintf("%s %s: %s", r.Method, strings.TrimPrefix(r.URL.Path, adyenPrefix), problem))
			s.mu.Unlock()
			adyenFail(w, http.StatusUnprocessableEntity, "sandbox_spec", "validation", "Request does not match Adyen's Checkout v71 spec: "+problem)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mux.ServeHTTP(w, r)
	})
}

// adyenRefund answers POST /v71/payments/{paymentPspReference}/refunds. As
// at Adyen, a repeated Idempotency-Key returns the first answer and makes
// nothing; reused with another request it is refused.
func (s *Server) adyenRefund(w http.ResponseWriter, r *http.Request) {
	payment := r.PathValue("paymentPspReference")
	raw, _ := io.ReadAll(r.Body)
	var req adyenRefundRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		adyenFail(w, http.StatusBadRequest, "702", "validation", "Structure of the request is not correct: "+err.Error())
		return
	}
	forcedStatus, forcedHang, err := forcedFault(r)
	if err != nil {
		adyenFail(w, http.StatusBadRequest, "sandbox_header", "validation", err.Error())
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	var canonical bytes.Buffer
	_ = json.Compact(&canonical, raw)
	params := payment + " " + canonical.String()

	s.mu.Lock()
	s.dirty = true
	var sub *Submission
	if key != "" {
		sub = s.ledger.AdyenRefunds[key]
	}
	if sub == nil {
		sub = &Submission{
			IdempotencyKey: key,
			Kind:           kindRefund,
			Gateway:        gatewayAdyen,
			TransactionID:  payment,
			Amount:         strconv.FormatInt(req.Amount.Value, 10),
			AmountMinor:    req.Amount.Value,
			Currency:       req.Amount.Currency,
			ReasonCode:     req.MerchantRefundReason,
			Params:         params,
			Metadata:       map[string]string{"reference": req.Reference, "merchantAccount": req.MerchantAccount},
			Faults:         map[string]int{},
			FirstSeen:      s.now().UTC(),
		}
		if key != "" {
			s.ledger.AdyenRefunds[key] = sub
		}
	}
	sub.Requests++
	answer := func(status int, body []byte, fault string) {
		sub.LastStatus = status
		if fault != "" {
			sub.Faults[fault]++
			s.ledger.Stats.Faults[fault]++
		}
		s.mu.Unlock()
		if key != "" {
			w.Header().Set("Idempotency-Key", key)
		}
		writeRaw(w, status, body)
	}
	if sub.Params != params {
		answer(http.StatusUnprocessableEntity, adyenErrorBody(http.StatusUnprocessableEntity, "sandbox_key_reused", "validation",
			"this Idempotency-Key was used with another request"), "key_reused")
		return
	}
	if forcedStatus != 0 {
		if forcedStatus == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", s.retryAfterSeconds())
		}
		answer(forcedStatus, adyenErrorBody(forcedStatus, "sandbox_forced", "internal", "failure forced by X-Sandbox-Fail"), "forced_"+strconv.Itoa(forcedStatus))
		return
	}
	// Transient faults can hit any call, a replay included.
	if s.roll(s.cfg.Fault5xx) {
		status := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.dice.IntN(3)]
		answer(status, adyenErrorBody(status, "sandbox_fault", "internal", "injected server error"), strconv.Itoa(status))
		return
	}
	if s.roll(s.cfg.Fault429) {
		w.Header().Set("Retry-After", s.retryAfterSeconds())
		answer(http.StatusTooManyRequests, adyenErrorBody(http.StatusTooManyRequests, "sandbox_rate_limited", "throttling", "injected rate limit"), "429")
		return
	}
	if sub.Creations > 0 && !s.cfg.IgnoreIdempotencyKey {
		sub.Replays++
		answer(http.StatusCreated, sub.Response, "")
		return
	}
	switch {
	case req.MerchantAccount != s.cfg.AdyenMerchantAccount:
		answer(http.StatusForbidden, adyenErrorBody(http.StatusForbidden, "901", "security", "Invalid Merchant Account"), "merchant_account")
		return
	case !adyenPSPReference.MatchString(payment):
		answer(http.StatusUnprocessableEntity, adyenErrorBody(http.StatusUnprocessableEntity, "167", "validation", "Original pspReference required for this operation"), "psp_reference")
		return
	case req.Amount.Value <= 0:
		answer(http.StatusUnprocessableEntity, adyenErrorBody(http.StatusUnprocessableEntity, "137", "validation", "Invalid amount specified"), "amount")
		return
	}
	if m := adyenFailRule.FindStringSubmatch(payment); m != nil && !s.ledger.Healed[payment] {
		limit, _ := strconv.Atoi(m[1])
		if m[1] == "" || sub.Faults["rule_fail"] < limit {
			answer(http.StatusServiceUnavailable, adyenErrorBody(http.StatusServiceUnavailable, "sandbox_unavailable", "internal", "sandbox rule FAIL: Adyen is unavailable until healed"), "rule_fail")
			return
		}
	}
	if strings.HasPrefix(payment, "REJECT") {
		answer(http.StatusUnprocessableEntity, adyenErrorBody(http.StatusUnprocessableEntity, "sandbox_reject", "validation", "sandbox rule REJECT: Adyen refuses to refund this payment"), "rule_reject")
		return
	}
	if s.roll(s.cfg.Fault422) {
		answer(http.StatusUnprocessableEntity, adyenErrorBody(http.StatusUnprocessableEntity, "sandbox_decline", "validation", "injected final refusal"), "422")
		return
	}

	// Make the refund, then answer; a hang happens after the record, which
	// is the case idempotency exists for.
	now := s.now().UTC()
	sub.Reference = newPSPReference()
	sub.CreatedAt = &now
	sub.Creations++
	if key == "" {
		// Without a key nothing replays: the refund is its own entry.
		sub.IdempotencyKey = sub.Reference
		s.ledger.AdyenRefunds[sub.Reference] = sub
	}
	sub.Response, _ = json.Marshal(map[string]any{
		"merchantAccount":      req.MerchantAccount,
		"paymentPspReference":  payment,
		"pspReference":         sub.Reference,
		"reference":            req.Reference,
		"status":               "received",
		"merchantRefundReason": req.MerchantRefundReason,
		"amount":               map[string]any{"currency": req.Amount.Currency, "value": req.Amount.Value},
	})
	s.startAdyenLifecycle(sub, now)
	hang := forcedHang || strings.HasPrefix(payment, "HANG") || s.roll(s.cfg.FaultHang)
	if !hang {
		answer(http.StatusCreated, sub.Response, "")
		return
	}
	sub.LastStatus = http.StatusCreated
	sub.Faults["hang"]++
	s.ledger.Stats.Faults["hang"]++
	response := sub.Response
	s.mu.Unlock()
	s.sleep(s.cfg.HangFor, r.Context().Done())
	if r.Context().Err() == nil {
		w.Header().Set("Idempotency-Key", key)
		writeRaw(w, http.StatusCreated, response)
	}
}

// startAdyenLifecycle gives a refund just made its first state and the
// change it has in store; Adyen sends no webhook for "received", only for
// the outcome. Callers hold mu.
func (s *Server) startAdyenLifecycle(sub *Submission, at time.Time) {
	sub.Lifecycle = adyenLifecycleOf(sub.TransactionID, sub.IdempotencyKey)
	later := at.Add(s.cfg.SettleAfter)
	switch sub.Lifecycle {
	case lifecyclePending:
		sub.setStatus(statusPending, "", at)
		sub.NextStatus, sub.NextAt = statusSucceeded, &later
	case lifecyclePendFail:
		sub.setStatus(statusPending, "", at)
		sub.NextStatus, sub.NextReason, sub.NextAt = statusFailed, adyenReasonPendFail, &later
	case lifecycleRefundFailed:
		sub.setStatus(statusSucceeded, "", at)
		back := at.Add(s.reverseAfter())
		sub.NextStatus, sub.NextReason, sub.NextAt = statusFailed, adyenReasonRefundFail, &back
		s.queueWebhook(sub, true)
	case lifecycleReverse:
		sub.setStatus(statusSucceeded, "", at)
		back := at.Add(s.reverseAfter())
		sub.NextStatus, sub.NextReason, sub.NextAt = statusReversed, adyenReasonReverse, &back
		s.queueWebhook(sub, true)
	default:
		// Received now, settled at the next tick: the answer is never the
		// outcome, the webhook is.
		sub.setStatus(statusPending, "", at)
		sub.NextStatus, sub.NextAt = statusSucceeded, &at
	}
}

// adyenEvent names the webhook of a refund's latest change: REFUND
// (success true or false), REFUND_FAILED for a refund that had succeeded
// and then failed, REFUNDED_REVERSED.
func adyenEvent(sub *Submission) (eventCode, success string) {
	switch sub.History[len(sub.History)-1].Status {
	case statusFailed:
		for _, h := range sub.History {
			if h.Status == statusSucceeded {
				return "REFUND_FAILED", "true"
			}
		}
		return "REFUND", "false"
	case statusReversed:
		return "REFUNDED_REVERSED", "true"
	}
	return "REFUND", "true"
}

// adyenNotification is the standard webhook of the refund's latest change,
// signed with the sandbox's HMAC key, and its event ID as the starter
// derives it. A body Webhooks v1 refuses is counted as a spec violation:
// the sandbox must send what Adyen sends. Callers hold mu.
func (s *Server) adyenNotification(sub *Submission) (string, json.RawMessage) {
	change := sub.History[len(sub.History)-1]
	code, success := adyenEvent(sub)
	item := map[string]any{
		"additionalData":      map[string]any{},
		"amount":              map[string]any{"currency": sub.Currency, "value": sub.AmountMinor},
		"eventCode":           code,
		"eventDate":           change.At.UTC().Format(time.RFC3339),
		"merchantAccountCode": sub.Metadata["merchantAccount"],
		"merchantReference":   sub.Metadata["reference"],
		"originalReference":   sub.TransactionID,
		"paymentMethod":       "visa",
		"pspReference":        sub.Reference,
		"success":             success,
	}
	if change.Reason != "" {
		item["reason"] = change.Reason
	}
	body, _ := json.Marshal(map[string]any{
		"live":              "false",
		"notificationItems": []any{map[string]any{"NotificationRequestItem": item}},
	})
	body = signAdyenNotification(body, s.cfg.AdyenHMACKey)
	if err := validateAdyenWebhook(body); err != nil {
		s.noteSpecViolation("webhook " + err.Error())
	}
	return "adyen:" + sub.Reference + ":" + code + ":" + success, body
}

// signAdyenNotification sets each item's additionalData.hmacSignature
// under hexKey; without a usable key the items go unsigned (and the
// starter refuses them).
func signAdyenNotification(body []byte, hexKey string) []byte {
	key, err := adyensig.ParseKey(hexKey)
	var n struct {
		Live              string `json:"live"`
		NotificationItems []struct {
			Item map[string]any `json:"NotificationRequestItem"`
		} `json:"notificationItems"`
	}
	if json.Unmarshal(body, &n) != nil {
		return body
	}
	for _, w := range n.NotificationItems {
		extra, _ := w.Item["additionalData"].(map[string]any)
		if extra == nil {
			extra = map[string]any{}
		}
		delete(extra, "hmacSignature")
		if err == nil {
			extra["hmacSignature"] = adyensig.Sign(key, adyenSigItem(w.Item))
		}
		w.Item["additionalData"] = extra
	}
	out, _ := json.Marshal(map[string]any{"live": n.Live, "notificationItems": n.NotificationItems})
	return out
}

// adyenSigItem reads what the signature covers from a decoded item.
func adyenSigItem(item map[string]any) adyensig.Item {
	str := func(k string) string { v, _ := item[k].(string); return v }
	amount, _ := item["amount"].(map[string]any)
	value, _ := amount["value"].(float64)
	currency, _ := amount["currency"].(string)
	return adyensig.Item{
		PSPReference: str("pspReference"), OriginalReference: str("originalReference"),
		MerchantAccountCode: str("merchantAccountCode"), MerchantReference: str("merchantReference"),
		Value: int64(value), Currency: currency, EventCode: str("eventCode"), Success: str("success"),
	}
}

// newPSPReference is a refund's pspReference: 16 upper-case letters and
// digits, as Adyen's; never card-shaped, since the service passes it on to
// Genesys (a run of 13 or more digits could pass the Luhn check).
func newPSPReference() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	for {
		b := make([]byte, 16)
		digits, longest := 0, 0
		for i := range b {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			b[i] = alphabet[n.Int64()]
			if b[i] >= '0' && b[i] <= '9' {
				digits++
				longest = max(longest, digits)
			} else {
				digits = 0
			}
		}
		if longest < 13 {
			return string(b)
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// adyenErrorBody is Adyen's ServiceError.
func adyenErrorBody(status int, code, typ, message string) []byte {
	b, _ := json.Marshal(map[string]any{"status": status, "errorCode": code, "message": message, "errorType": typ, "pspReference": newPSPReference()})
	return b
}

func adyenFail(w http.ResponseWriter, status int, code, typ, message string) {
	writeRaw(w, status, adyenErrorBody(status, code, typ, message))
}
