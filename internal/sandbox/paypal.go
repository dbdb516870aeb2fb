package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/pci"
)

// The sandbox's PayPal: the Payments v2 and webhook endpoints the worker's
// and the starter's PayPal clients call, served under /paypal
// (REFUNDFLOW_PAYPAL_BASE_URL=<sandbox>/paypal). Every request is checked
// against PayPal's published spec first (paypalspec.go). A refund is kept,
// replayed by its PayPal-Request-Id, read back, listed on its capture's
// order, and follows a rule read from the capture ID. Capture IDs are
// PayPal's shape, 1-20 of [A-Z0-9], so the rules are letters in them:
//
//	PEND...     PENDING, then COMPLETED after SANDBOX_SETTLE_AFTER
//	PFAIL...    PENDING, then FAILED (status_details.reason ECHECK)
//	REVS...     COMPLETED, then reversed (PAYMENT.CAPTURE.REVERSED; the refund CANCELLED)
//	DENY...     FAILED at once
//	FULLREF...  422 CAPTURE_FULLY_REFUNDED (the capture was refunded elsewhere)
//	TIMELIM...  422 REFUND_TIME_LIMIT_EXCEEDED
//	DISPUTE...  422 TRANSACTION_DISPUTED
//	MISSING...  no such capture (404)
//	HANG...     recorded, then answered after SANDBOX_HANG_FOR
//	OUTAGE...   refunds answered 503 until POST /sandbox/heal/{captureId}
//	...CURJPY.. (any CUR<iso>) the capture is in that currency (else USD)
//	...XDROP.. / XDUP / XREORD / XLATE / XBADSIG  the webhook faults
//
// A renewed key (<key>:r<n>, an approval after a failure) succeeds at once.
// POST /sandbox/paypal/expire-request-ids forgets every PayPal-Request-Id,
// as PayPal does after 45 days: a caller that only trusts the key would then
// refund twice.

const (
	gatewayPayPal = "paypal"
	// paypalPrefix is where the PayPal side is served.
	paypalPrefix = "/paypal"
	// paypalCaptureMajor is every sandbox capture's amount in major units.
	paypalCaptureMajor = 100_000
)

// Reasons the rules give. PayPal's refund status_details.reason has one
// value in the spec, ECHECK, for a PENDING or FAILED refund.
const (
	paypalReasonECheck  = "ECHECK"
	paypalReasonReverse = "sandbox rule REVS: PayPal reversed the payment capture"
)

// paypalDecimalsOf is what PayPal writes after the point for a currency
// it takes (money.PayPalDecimals); 0 for one it refuses, which the callers
// have checked before.
func paypalDecimalsOf(currency string) int {
	d, _ := money.PayPalDecimals(currency)
	return d
}

var (
	paypalCaptureShape  = regexp.MustCompile(`^[A-Z0-9]{1,20}$`)
	paypalCurrencyRule  = regexp.MustCompile(`CUR([A-Z]{3})`)
	paypalDecimalAmount = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?$`)
)

// paypalRule422 is the issue a capture ID's rule answers a refund with.
var paypalRule422 = []struct{ prefix, issue, description string }{
	{"FULLREF", "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded"},
	{"TIMELIM", "REFUND_TIME_LIMIT_EXCEEDED", "You are over the time limit to perform a refund on this capture"},
	{"DISPUTE", "TRANSACTION_DISPUTED", "Partial refunds cannot be offered at this time because there is an open case on this transaction. Visit the PayPal Resolution Center to review this case."},
}

// paypalLifecycleOf names the rule a new PayPal refund follows.
func paypalLifecycleOf(capture, key string) string {
	if renewedKey.MatchString(key) {
		return ""
	}
	switch {
	case strings.HasPrefix(capture, "PEND"):
		return lifecyclePending
	case strings.HasPrefix(capture, "PFAIL"):
		return lifecyclePendFail
	case strings.HasPrefix(capture, "REVS"):
		return lifecycleReverse
	}
	return ""
}

// paypalWebhookFaultRule is webhookFaultRule in letters a capture ID can hold.
func paypalWebhookFaultRule(txn string, first bool) string {
	switch {
	case strings.Contains(txn, "XDROP"):
		return faultDropped
	case strings.Contains(txn, "XBADSIG"):
		return faultBadSignature
	case strings.Contains(txn, "XDUP"):
		return faultDuplicated
	case strings.Contains(txn, "XREORD"):
		if first {
			return faultReordered
		}
	case strings.Contains(txn, "XLATE"):
		return faultDelayed
	}
	return ""
}

// paypalCurrency is the capture's currency.
func paypalCurrency(capture string) string {
	if m := paypalCurrencyRule.FindStringSubmatch(capture); m != nil {
		return m[1]
	}
	return "USD"
}

// paypalValue writes minor units (PayPal's decimals) as PayPal's text.
func paypalValue(minor int64, decimals int) string {
	if decimals == 0 {
		return strconv.FormatInt(minor, 10)
	}
	s := fmt.Sprintf("%0*d", decimals+1, minor)
	return s[:len(s)-decimals] + "." + s[len(s)-decimals:]
}

// paypalMinor reads PayPal's text in PayPal's decimals for currency; ok is
// false with PayPal's issue code when it is not a valid amount there.
func paypalMinor(value, currency string) (int64, string) {
	decimals, known := money.PayPalDecimals(currency)
	if !known {
		return 0, "INVALID_CURRENCY_CODE"
	}
	m := paypalDecimalAmount.FindStringSubmatch(value)
	if m == nil {
		return 0, "INVALID_PARAMETER_VALUE"
	}
	frac := m[2]
	switch {
	case decimals == 0 && frac != "":
		return 0, "DECIMALS_NOT_SUPPORTED"
	case len(frac) > decimals:
		return 0, "DECIMAL_PRECISION"
	}
	frac += strings.Repeat("0", decimals-len(frac))
	n, err := strconv.ParseInt(m[1]+frac, 10, 64)
	if err != nil {
		return 0, "INVALID_PARAMETER_VALUE"
	}
	if n <= 0 {
		return 0, "CANNOT_BE_ZERO_OR_NEGATIVE"
	}
	return n, ""
}

// paypalHandler serves everything under /paypal.
func (s *Server) paypalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+paypalPrefix+"/v1/oauth2/token", s.issueToken)
	mux.HandleFunc("GET "+paypalPrefix+"/v2/payments/captures/{id}", s.authenticated(s.paypalGetCapture))
	mux.HandleFunc("POST "+paypalPrefix+"/v2/payments/captures/{id}/refund", s.authenticated(s.paypalRefund))
	mux.HandleFunc("GET "+paypalPrefix+"/v2/payments/refunds/{id}", s.authenticated(s.paypalGetRefund))
	mux.HandleFunc("GET "+paypalPrefix+"/v2/checkout/orders/{id}", s.authenticated(s.paypalGetOrder))
	mux.HandleFunc("POST "+paypalPrefix+"/v1/notifications/verify-webhook-signature", s.authenticated(s.paypalVerifyWebhook))
	mux.HandleFunc(paypalPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		paypalFail(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "", "The specified resource does not exist: "+r.Method+" "+strings.TrimPrefix(r.URL.Path, paypalPrefix))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Paypal-Debug-Id", strings.ToLower(paypalID(13)))
		if !s.checkPayPalSpec(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// paypalBase is the absolute base of the PayPal side as the caller reached
// it, for the HATEOAS links.
func paypalBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + paypalPrefix
}

// paypalCaptureMinor is the capture's amount in PayPal's minor units.
func paypalCaptureMinor(currency string) int64 {
	n := int64(paypalCaptureMajor)
	for range paypalDecimalsOf(currency) {
		n *= 10
	}
	return n
}

// paypalRefunded sums the capture's refunds that moved money. Callers hold mu.
func (s *Server) paypalRefunded(capture string) int64 {
	var sum int64
	for _, sub := range s.ledger.PayPalRefunds {
		if st := sub.currentStatus(); sub.Creations > 0 && sub.TransactionID == capture && st != statusFailed && st != statusReversed {
			sum += sub.AmountMinor
		}
	}
	return sum
}

// paypalOrderOf is the order a capture belongs to: an ID of PayPal's shape.
func paypalOrderOf(capture string) string {
	if len(capture) >= 20 {
		capture = capture[1:]
	}
	return "O" + capture
}

// paypalCaptureObject is the capture as GET /v2/payments/captures/{id}
// shows it. Callers hold mu.
func (s *Server) paypalCaptureObject(base, capture string) map[string]any {
	currency := paypalCurrency(capture)
	total := paypalCaptureMinor(currency)
	refunded := s.paypalRefunded(capture)
	status := "COMPLETED"
	switch {
	case strings.HasPrefix(capture, "FULLREF") || refunded >= total:
		status = "REFUNDED"
	case refunded > 0:
		status = "PARTIALLY_REFUNDED"
	}
	created := s.now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)
	return map[string]any{
		"id":            capture,
		"status":        status,
		"amount":        map[string]string{"currency_code": currency, "value": paypalValue(total, paypalDecimalsOf(currency))},
		"final_capture": true,
		"supplementary_data": map[string]any{
			"related_ids": map[string]string{"order_id": paypalOrderOf(capture)},
		},
		"links": []map[string]string{
			{"href": base + "/v2/payments/captures/" + capture, "rel": "self", "method": "GET"},
			{"href": base + "/v2/payments/captures/" + capture + "/refund", "rel": "refund", "method": "POST"},
			{"href": base + "/v2/checkout/orders/" + paypalOrderOf(capture), "rel": "up", "method": "GET"},
		},
		"create_time": created,
		"update_time": created,
	}
}

// paypalCaptureExists reports whether the sandbox's PayPal holds the
// capture: any ID of PayPal's shape but a MISSING one, in a currency PayPal
// takes.
func paypalCaptureExists(capture string) bool {
	_, ok := money.PayPalDecimals(paypalCurrency(capture))
	return paypalCaptureShape.MatchString(capture) && !strings.HasPrefix(capture, "MISSING") && ok
}

// paypalGetCapture answers GET /v2/payments/captures/{id}.
func (s *Server) paypalGetCapture(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !paypalCaptureExists(id) {
		paypalFail(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again.")
		return
	}
	s.mu.Lock()
	s.advanceAll(s.now().UTC())
	body := s.paypalCaptureObject(paypalBase(r), id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// paypalGetOrder answers GET /v2/checkout/orders/{id}: the order's one
// purchase unit with its capture and every refund made on it, PayPal's
// only listing of a capture's refunds.
func (s *Server) paypalGetOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	base := paypalBase(r)
	s.mu.Lock()
	s.advanceAll(s.now().UTC())
	capture := strings.TrimPrefix(id, "O")
	var refunds []*Submission
	for _, sub := range s.ledger.PayPalRefunds {
		if sub.Creations > 0 && paypalOrderOf(sub.TransactionID) == id {
			capture = sub.TransactionID
			refunds = append(refunds, sub)
		}
	}
	if !strings.HasPrefix(id, "O") || !paypalCaptureExists(capture) {
		s.mu.Unlock()
		paypalFail(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again.")
		return
	}
	sort.Slice(refunds, func(i, j int) bool { return refunds[i].CreatedAt.Before(*refunds[j].CreatedAt) })
	objects := []map[string]any{}
	if strings.HasPrefix(capture, "FULLREF") {
		// Refunded in full by someone else (the dashboard): not ours.
		objects = append(objects, map[string]any{
			"id": "8" + capture[min(len(capture), 1):], "status": "COMPLETED",
			"amount": map[string]string{"currency_code": paypalCurrency(capture), "value": paypalValue(paypalCaptureMinor(paypalCurrency(capture)), paypalDecimalsOf(paypalCurrency(capture)))},
		})
	}
	for _, sub := range refunds {
		objects = append(objects, paypalRefundObject(sub, base))
	}
	order := map[string]any{
		"id":     id,
		"intent": "CAPTURE",
		"status": "COMPLETED",
		"purchase_units": []map[string]any{{
			"reference_id": "default",
			"payments": map[string]any{
				"captures": []map[string]any{s.paypalCaptureObject(base, capture)},
				"refunds":  objects,
			},
		}},
		"links": []map[string]string{{"href": base + "/v2/checkout/orders/" + id, "rel": "self", "method": "GET"}},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, order)
}

// paypalRefundRequest is the body of POST /v2/payments/captures/{id}/refund
// (the spec check has passed it).
type paypalRefundRequest struct {
	Amount *struct {
		Value        string `json:"value"`
		CurrencyCode string `json:"currency_code"`
	} `json:"amount"`
	CustomID    string `json:"custom_id"`
	InvoiceID   string `json:"invoice_id"`
	NoteToPayer string `json:"note_to_payer"`
}

// paypalRefund answers POST /v2/payments/captures/{id}/refund. As at
// PayPal, a repeated PayPal-Request-Id replays the refund it made (in its
// state now) and creates nothing.
func (s *Server) paypalRefund(w http.ResponseWriter, r *http.Request) {
	capture := r.PathValue("id")
	var req paypalRefundRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		paypalFail(w, http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
		return
	}
	forcedStatus, forcedHang, err := forcedFault(r)
	if err != nil {
		paypalFail(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", err.Error())
		return
	}
	key := strings.TrimSpace(r.Header.Get("PayPal-Request-Id"))
	representation := strings.Contains(r.Header.Get("Prefer"), "return=representation")
	base := paypalBase(r)
	params, _ := json.Marshal(req)

	s.mu.Lock()
	s.dirty = true
	var sub *Submission
	if key != "" {
		sub = s.ledger.PayPalRefunds[key]
	}
	answer := func(status int, body []byte, fault string) {
		if sub != nil {
			sub.LastStatus = status
			if fault != "" {
				sub.Faults[fault]++
			}
		}
		if fault != "" {
			s.ledger.Stats.Faults["paypal_"+fault]++
		}
		s.mu.Unlock()
		writeRaw(w, status, body)
	}
	if sub == nil && key != "" {
		// Every call with a key is counted against it, a refused one too.
		sub = &Submission{IdempotencyKey: key, Kind: kindRefund, Gateway: gatewayPayPal, TransactionID: capture,
			Params: string(params), Faults: map[string]int{}, FirstSeen: s.now().UTC()}
		s.ledger.PayPalRefunds[key] = sub
	}
	if sub != nil {
		sub.Requests++
		if sub.Params != string(params) || sub.TransactionID != capture {
			// PayPal answers a reused PayPal-Request-Id with the first
			// request's result; counted, as it means the caller's key is not
			// derived from what it asks.
			sub.Faults["key_reused"]++
		}
	}
	if forcedStatus != 0 {
		if forcedStatus == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", s.retryAfterSeconds())
		}
		answer(forcedStatus, paypalErrorBody("SANDBOX_FORCED", "", "failure forced by X-Sandbox-Fail"), "forced_"+strconv.Itoa(forcedStatus))
		return
	}
	if s.roll(s.cfg.Fault5xx) {
		status := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.dice.IntN(3)]
		answer(status, paypalErrorBody("INTERNAL_SERVER_ERROR", "", "An internal server error occurred."), strconv.Itoa(status))
		return
	}
	if s.roll(s.cfg.Fault429) {
		w.Header().Set("Retry-After", s.retryAfterSeconds())
		answer(http.StatusTooManyRequests, paypalErrorBody("RATE_LIMIT_REACHED", "", "Too many requests. Blocked due to rate limiting."), "429")
		return
	}
	if strings.HasPrefix(capture, "OUTAGE") && !s.ledger.Healed[capture] {
		answer(http.StatusServiceUnavailable, paypalErrorBody("INTERNAL_SERVICE_ERROR", "", "sandbox rule OUTAGE: refunds fail until healed"), "rule_outage")
		return
	}
	if sub != nil && sub.Creations > 0 && !s.cfg.IgnoreIdempotencyKey {
		sub.Replays++
		s.advanceLifecycle(sub, s.now().UTC())
		answer(http.StatusCreated, paypalRefundAnswer(sub, base, representation), "")
		return
	}
	if !paypalCaptureExists(capture) {
		answer(http.StatusNotFound, paypalErrorBody("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again."), "")
		return
	}
	for _, rule := range paypalRule422 {
		if strings.HasPrefix(capture, rule.prefix) {
			answer(http.StatusUnprocessableEntity, paypalErrorBody("UNPROCESSABLE_ENTITY", rule.issue, rule.description), "rule_"+strings.ToLower(rule.issue))
			return
		}
	}
	currency := paypalCurrency(capture)
	left := paypalCaptureMinor(currency) - s.paypalRefunded(capture)
	amount := left
	if req.Amount != nil {
		if req.Amount.CurrencyCode != currency {
			answer(http.StatusUnprocessableEntity, paypalErrorBody("UNPROCESSABLE_ENTITY", "REFUND_CAPTURE_CURRENCY_MISMATCH", "Refund must be in the same currency as the capture"), "currency_mismatch")
			return
		}
		var issue string
		if amount, issue = paypalMinor(req.Amount.Value, currency); issue != "" {
			answer(http.StatusUnprocessableEntity, paypalErrorBody("UNPROCESSABLE_ENTITY", issue, "amount.value "+req.Amount.Value+" is not a valid "+currency+" amount at PayPal"), "amount_"+strings.ToLower(issue))
			return
		}
	}
	switch {
	case left <= 0:
		answer(http.StatusUnprocessableEntity, paypalErrorBody("UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded"), "fully_refunded")
		return
	case amount > left:
		answer(http.StatusUnprocessableEntity, paypalErrorBody("UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded."), "amount_exceeded")
		return
	}
	if s.roll(s.cfg.Fault422) {
		answer(http.StatusUnprocessableEntity, paypalErrorBody("UNPROCESSABLE_ENTITY", "REFUND_NOT_ALLOWED", "Capture cannot be refunded."), "422")
		return
	}

	now := s.now().UTC()
	ref := paypalID(17)
	if key == "" {
		key = ref
	}
	switch {
	case sub == nil:
		// No PayPal-Request-Id: nothing replays, the refund is its own entry.
		sub = &Submission{IdempotencyKey: key, Faults: map[string]int{}, FirstSeen: now, Requests: 1}
		s.ledger.PayPalRefunds[key] = sub
	case sub.Creations > 0:
		// Sabotage (IgnoreIdempotencyKey): the same key makes another
		// refund, stored beside the first (the request is counted there).
		key = key + "#" + ref
		sub = &Submission{IdempotencyKey: key, Faults: map[string]int{}, FirstSeen: now}
		s.ledger.PayPalRefunds[key] = sub
	}
	sub.Kind, sub.Gateway, sub.TransactionID = kindRefund, gatewayPayPal, capture
	sub.Amount, sub.AmountMinor, sub.Currency = paypalValue(amount, paypalDecimalsOf(currency)), amount, currency
	sub.Params, sub.Reference, sub.CreatedAt, sub.Creations = string(params), ref, &now, sub.Creations+1
	sub.PayPalBase = base
	if req.CustomID != "" {
		sub.Metadata = map[string]string{"custom_id": req.CustomID}
	}
	if strings.HasPrefix(capture, "DENY") && !renewedKey.MatchString(key) {
		sub.Lifecycle = "deny"
		sub.setStatus(statusFailed, paypalReasonECheck, now)
		s.queueWebhook(sub, true)
	} else {
		s.startLifecycle(sub, now)
	}
	body := paypalRefundAnswer(sub, base, representation)
	sub.Response = body
	hang := forcedHang || strings.HasPrefix(capture, "HANG") || s.roll(s.cfg.FaultHang)
	if !hang {
		answer(http.StatusCreated, body, "")
		return
	}
	sub.LastStatus = http.StatusCreated
	sub.Faults["hang"]++
	s.ledger.Stats.Faults["paypal_hang"]++
	s.mu.Unlock()
	s.sleep(s.cfg.HangFor, r.Context().Done())
	if r.Context().Err() == nil {
		writeRaw(w, http.StatusCreated, body)
	}
}

// paypalGetRefund answers GET /v2/payments/refunds/{id}: the refund now.
func (s *Server) paypalGetRefund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	var found *Submission
	for _, sub := range s.ledger.PayPalRefunds {
		if sub.Reference == id && sub.Creations > 0 {
			found = sub
			break
		}
	}
	if found == nil {
		s.mu.Unlock()
		paypalFail(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again.")
		return
	}
	s.advanceLifecycle(found, s.now().UTC())
	found.StatusReads++
	s.dirty = true
	body := paypalRefundObject(found, paypalBase(r))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// expirePayPalRequestIDs answers POST /sandbox/paypal/expire-request-ids:
// PayPal forgets every PayPal-Request-Id (it keeps them 45 days), while
// the refunds stay.
func (s *Server) expirePayPalRequestIDs(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	n := 0
	for key, sub := range s.ledger.PayPalRefunds {
		if !strings.Contains(key, "#expired") {
			delete(s.ledger.PayPalRefunds, key)
			s.ledger.PayPalRefunds[key+"#expired"+strconv.Itoa(len(s.ledger.PayPalRefunds))] = sub
			n++
		}
	}
	s.dirty = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"expired": n})
}

// paypalStatus is the refund's state in PayPal's words. PayPal's refund
// has no reversed status: the sandbox announces a reversal as
// PAYMENT.CAPTURE.REVERSED and from then on shows the refund CANCELLED,
// one that no longer stands, as Stripe shows a reversed refund failed
// (docs/paypal.md says what this assumes of PayPal).
func paypalStatus(sub *Submission) string {
	switch sub.currentStatus() {
	case statusPending:
		return "PENDING"
	case statusFailed:
		return "FAILED"
	case statusReversed:
		return "CANCELLED"
	}
	return "COMPLETED"
}

// paypalRefundObject is the refund as PayPal shows it.
func paypalRefundObject(sub *Submission, base string) map[string]any {
	if base == "" {
		base = sub.PayPalBase
	}
	amount := map[string]string{"currency_code": sub.Currency, "value": sub.Amount}
	obj := map[string]any{
		"id":     sub.Reference,
		"status": paypalStatus(sub),
		"amount": amount,
		"seller_payable_breakdown": map[string]any{
			"gross_amount": amount,
			"net_amount":   amount,
		},
		"links": []map[string]string{
			{"href": base + "/v2/payments/refunds/" + sub.Reference, "rel": "self", "method": "GET"},
			{"href": base + "/v2/payments/captures/" + sub.TransactionID, "rel": "up", "method": "GET"},
		},
		"create_time": sub.CreatedAt.Format(time.RFC3339),
		"update_time": sub.History[len(sub.History)-1].At.Format(time.RFC3339),
	}
	if id := sub.Metadata["custom_id"]; id != "" {
		obj["custom_id"] = id
	}
	if st := paypalStatus(sub); st == "PENDING" || st == "FAILED" {
		obj["status_details"] = map[string]string{"reason": paypalReasonECheck}
	}
	return obj
}

// paypalRefundAnswer is the refund create (or replay) answer: the whole
// refund with Prefer: return=representation, else PayPal's minimal one.
func paypalRefundAnswer(sub *Submission, base string, representation bool) []byte {
	obj := paypalRefundObject(sub, base)
	if !representation {
		obj = map[string]any{"id": obj["id"], "status": obj["status"], "links": obj["links"]}
	}
	b, _ := json.Marshal(obj)
	return b
}

// PayPalTransmission is one webhook delivery attempt as PayPal signed it:
// what its verify-webhook-signature compares against. The signature is a
// random stand-in for PayPal's RSA one: only the sandbox can check it,
// which is the point (the starter must ask).
type PayPalTransmission struct {
	EventID   string    `json:"eventId"`
	Signature string    `json:"signature"`
	Time      time.Time `json:"time"`
	// EventSHA256 is the hash of the event's canonical JSON.
	EventSHA256 string `json:"eventSha256"`
}

// paypalEventBody is the webhook event of the refund's latest change:
// PAYMENT.CAPTURE.REFUNDED with the refund as resource (its status says
// PENDING, COMPLETED or FAILED), or PAYMENT.CAPTURE.REVERSED for a
// reversal. Callers hold mu; a body the webhook spec or the refund schema
// refuses is counted as a spec violation.
func (s *Server) paypalEventBody(sub *Submission, eventID string) json.RawMessage {
	change := sub.History[len(sub.History)-1]
	typ, summary := "PAYMENT.CAPTURE.REFUNDED", fmt.Sprintf("A %s %s capture payment was refunded", sub.Amount, sub.Currency)
	if change.Status == statusReversed {
		typ, summary = "PAYMENT.CAPTURE.REVERSED", fmt.Sprintf("A %s %s capture payment was reversed", sub.Amount, sub.Currency)
	}
	resource := paypalRefundObject(sub, "")
	b, _ := json.Marshal(map[string]any{
		"id":               eventID,
		"event_version":    "1.0",
		"create_time":      change.At.Format(time.RFC3339),
		"resource_type":    "refund",
		"resource_version": "2.0",
		"event_type":       typ,
		"summary":          summary,
		"resource":         resource,
		"links": []map[string]string{
			{"href": sub.PayPalBase + "/v1/notifications/webhooks-events/" + eventID, "rel": "self", "method": "GET"},
			{"href": sub.PayPalBase + "/v1/notifications/webhooks-events/" + eventID + "/resend", "rel": "resend", "method": "POST"},
		},
	})
	if spec, err := loadPayPalSpec(); err == nil {
		rb, _ := json.Marshal(resource)
		for _, p := range []string{schemaProblem(spec.webhooks, "event", b), schemaProblem(spec.payments, "refund", rb)} {
			if p != "" {
				s.countSpecViolation("paypal webhook " + eventID + ": " + p)
			}
		}
	}
	return b
}

// paypalSign sets the transmission headers of one delivery attempt and
// records it, so verify-webhook-signature can answer for it; a forged
// attempt is recorded nowhere.
func (s *Server) paypalSign(h http.Header, wh *Webhook, forged bool) {
	id := newUUID()
	sig := paypalSignature()
	at := s.now().UTC()
	h.Set("PAYPAL-TRANSMISSION-ID", id)
	h.Set("PAYPAL-TRANSMISSION-TIME", at.Format(time.RFC3339))
	h.Set("PAYPAL-TRANSMISSION-SIG", sig)
	h.Set("PAYPAL-AUTH-ALGO", "SHA256withRSA")
	h.Set("User-Agent", "PayPal/AUHD-214.0-58843000")
	s.mu.Lock()
	defer s.mu.Unlock()
	h.Set("PAYPAL-CERT-URL", strings.TrimRight(s.webhookPayPalBase(wh), "/")+"/v1/notifications/certs/CERT-360caa42-fca2a594-sandbox")
	if forged {
		return
	}
	s.ledger.PayPalTransmissions[id] = PayPalTransmission{EventID: wh.EventID, Signature: sig, Time: at, EventSHA256: canonicalSHA256(wh.Body)}
	s.dirty = true
}

// webhookPayPalBase is the PayPal base the event's refund was made at.
// Callers hold mu.
func (s *Server) webhookPayPalBase(wh *Webhook) string {
	for _, sub := range s.ledger.PayPalRefunds {
		if sub.Reference == wh.RefundID && sub.PayPalBase != "" {
			return sub.PayPalBase
		}
	}
	return "http://localhost" + paypalPrefix
}

// paypalVerifyRequest is verify-webhook-signature's body.
type paypalVerifyRequest struct {
	AuthAlgo         string          `json:"auth_algo"`
	CertURL          string          `json:"cert_url"`
	TransmissionID   string          `json:"transmission_id"`
	TransmissionSig  string          `json:"transmission_sig"`
	TransmissionTime string          `json:"transmission_time"`
	WebhookID        string          `json:"webhook_id"`
	WebhookEvent     json.RawMessage `json:"webhook_event"`
}

// paypalVerifyWebhook answers POST /v1/notifications/verify-webhook-signature:
// SUCCESS only for a transmission the sandbox made, to the configured
// webhook, of exactly the event it sent.
func (s *Server) paypalVerifyWebhook(w http.ResponseWriter, r *http.Request) {
	var req paypalVerifyRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		paypalFail(w, http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
		return
	}
	s.mu.Lock()
	t, ok := s.ledger.PayPalTransmissions[req.TransmissionID]
	verified := ok && req.WebhookID == s.cfg.PayPalWebhookID && t.Signature == req.TransmissionSig &&
		req.AuthAlgo == "SHA256withRSA" && t.EventSHA256 == canonicalSHA256(req.WebhookEvent)
	if verified {
		s.ledger.Stats.Webhooks["paypal_verified"]++
	} else {
		s.ledger.Stats.Webhooks["paypal_verify_failed"]++
	}
	s.dirty = true
	s.mu.Unlock()
	status := "FAILURE"
	if verified {
		status = "SUCCESS"
	}
	writeJSON(w, http.StatusOK, map[string]string{"verification_status": status})
}

// canonicalSHA256 hashes a JSON value's canonical form (keys sorted, no
// spaces), so the same event compares equal however it was re-encoded.
func canonicalSHA256(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// paypalID is an ID of PayPal's shape: n of [0-9A-Z], never card-shaped.
func paypalID(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for {
		b := make([]byte, n)
		for i := range b {
			k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			b[i] = alphabet[k.Int64()]
		}
		if id := string(b); !pci.ContainsCardNumber(id) {
			return id
		}
	}
}

// paypalSignature is a random stand-in for PayPal's base64 RSA signature.
// The webhook spec's transmission_sig pattern, ^(?!\d+$)\w+\S+, wants a
// word character first: a base64 text starting with + or / is drawn again
// (the spec check caught such ones: two of six test runs failed).
func paypalSignature() string {
	for {
		b := make([]byte, 96)
		_, _ = rand.Read(b)
		sig := base64.StdEncoding.EncodeToString(b)
		if c := sig[0]; c != '+' && c != '/' {
			return sig
		}
	}
}

// paypalErrorBody is PayPal's error shape: name, message, debug_id and,
// for a 422, the issue in details.
func paypalErrorBody(name, issue, description string) []byte {
	body := map[string]any{"name": name, "message": description, "debug_id": strings.ToLower(paypalID(13))}
	if issue != "" {
		body["details"] = []map[string]string{{"issue": issue, "description": description}}
		if name == "UNPROCESSABLE_ENTITY" {
			body["message"] = "The requested action could not be performed, semantically incorrect, or failed business validation."
		}
	}
	b, _ := json.Marshal(body)
	return b
}

func paypalFail(w http.ResponseWriter, status int, name, issue, description string) {
	writeRaw(w, status, paypalErrorBody(name, issue, description))
}
