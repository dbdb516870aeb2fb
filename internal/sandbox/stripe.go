package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The sandbox's Stripe: the endpoints of Stripe's API the worker's Stripe
// gateway calls, served under /stripe (REFUNDFLOW_STRIPE_BASE_URL=
// <sandbox>/stripe), stateful where stripe-mock is not: a refund is kept,
// listed, read back, replayed by its Idempotency-Key, and settles later
// under a rule of its payment's ID, as at Stripe:
//
//	pi_pending_... / ch_pending_...    pending, then succeeded after SANDBOX_SETTLE_AFTER
//	pi_pendfail_... / ch_pendfail_...  pending, then failed (expired_or_canceled_card)
//	pi_reverse_... / ch_reverse_...    succeeded, then failed (declined), as Stripe
//	                                   fails a refund that had succeeded
//	..._curjpy_... (any _cur<iso>_)    the payment is in that currency (else USD)
//	..._missing_...                    the payment does not exist (404)
//
// The webhook fault markers of the ERP (-DROP-, -DUP-, -REORDER-, -LATE-,
// -BADSIG-) apply to the payment ID the same way. Every request is checked
// against Stripe's OpenAPI spec first (stripespec.go); POST /v1/refunds then
// meets the gateway faults (stripefaults.go).

const (
	gatewayStripe = "stripe"
	// stripePrefix is where the Stripe side is served.
	stripePrefix = "/stripe"
	// stripePaymentAmount is every sandbox payment's amount, in Stripe's unit.
	stripePaymentAmount = 10_000_000
	// stripeAPIVersion is the version of the spec it serves (stripespec.go).
	stripeAPIVersion = "2026-08-26.dahlia"
)

// Stripe's failure_reason values the rules give.
const (
	stripeReasonPendFail = "expired_or_canceled_card"
	stripeReasonReverse  = "declined"
)

var (
	stripeCurrencyRule = regexp.MustCompile(`[_-]cur([a-z]{3})(?:[_-]|$)`)
	stripeMissingRule  = regexp.MustCompile(`[_-]missing(?:[_-]|$)`)
)

// stripeLifecycleOf names the rule a new Stripe refund follows.
func stripeLifecycleOf(payment, key string) string {
	if renewedKey.MatchString(key) {
		return ""
	}
	rest := payment[min(len(payment), 3):]
	switch {
	case strings.HasPrefix(rest, "pending_"), strings.HasPrefix(rest, "pending-"):
		return lifecyclePending
	case strings.HasPrefix(rest, "pendfail_"), strings.HasPrefix(rest, "pendfail-"):
		return lifecyclePendFail
	case strings.HasPrefix(rest, "reverse_"), strings.HasPrefix(rest, "reverse-"):
		return lifecycleReverse
	}
	return ""
}

// stripeCurrency is the payment's currency, lower case as Stripe writes it.
func stripeCurrency(payment string) string {
	if m := stripeCurrencyRule.FindStringSubmatch(payment); m != nil {
		return m[1]
	}
	return "usd"
}

// stripeHandler serves everything under /stripe.
func (s *Server) stripeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+stripePrefix+"/v1/payment_intents/{id}", s.stripePayment("payment_intent"))
	mux.HandleFunc("GET "+stripePrefix+"/v1/charges/{id}", s.stripePayment("charge"))
	mux.HandleFunc("GET "+stripePrefix+"/v1/refunds", s.stripeListRefunds)
	mux.HandleFunc("POST "+stripePrefix+"/v1/refunds", s.stripeCreateRefund)
	mux.HandleFunc("GET "+stripePrefix+"/v1/refunds/{id}", s.stripeGetRefund)
	mux.HandleFunc(stripePrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		stripeFail(w, http.StatusNotFound, "invalid_request_error", "", "",
			fmt.Sprintf("Unrecognized request URL (%s: %s).", r.Method, strings.TrimPrefix(r.URL.Path, stripePrefix)))
	})
	faulty := s.stripeFaults(mux) // stripefaults.go
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Request-Id", newID("req_"))
		if !s.stripeAuth(w, r) {
			return
		}
		if !s.checkStripeSpec(w, r) {
			return
		}
		faulty.ServeHTTP(w, r)
	})
}

// stripeAuth checks the secret key: Bearer sk_..., or HTTP Basic with the
// key as user name, as Stripe takes both.
func (s *Server) stripeAuth(w http.ResponseWriter, r *http.Request) bool {
	key := ""
	if user, _, ok := r.BasicAuth(); ok {
		key = user
	} else if scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		key = strings.TrimSpace(v)
	}
	if key == "" {
		stripeFail(w, http.StatusUnauthorized, "invalid_request_error", "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
		return false
	}
	if !strings.HasPrefix(key, "sk_") || !slices.Contains(strings.Split(s.cfg.StripeAPIKeys, ","), key) {
		s.mu.Lock()
		s.ledger.Stats.TokensRejected++
		s.dirty = true
		s.mu.Unlock()
		stripeFail(w, http.StatusUnauthorized, "invalid_request_error", "", "", "Invalid API Key provided: "+redactKey(key))
		return false
	}
	return true
}

// redactKey shows a refused key as Stripe does, its prefix and last four
// characters only.
func redactKey(k string) string {
	if len(k) <= 12 {
		return strings.Repeat("*", len(k))
	}
	return k[:8] + strings.Repeat("*", len(k)-12) + k[len(k)-4:]
}

// stripePayment answers GET /v1/payment_intents/{id} and /v1/charges/{id}.
func (s *Server) stripePayment(object string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		want := map[string]string{"payment_intent": "pi_", "charge": "ch_"}[object]
		if !strings.HasPrefix(id, want) || stripeMissingRule.MatchString(id) {
			stripeFail(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "id", fmt.Sprintf("No such %s: '%s'", object, id))
			return
		}
		rest := strings.TrimPrefix(id, want)
		body := map[string]any{
			"id": id, "object": object, "amount": stripePaymentAmount, "currency": stripeCurrency(id),
			"status": "succeeded", "created": s.now().Add(-time.Hour).Unix(), "livemode": false, "metadata": map[string]string{},
		}
		if object == "payment_intent" {
			body["latest_charge"] = "ch_" + rest
			body["amount_received"] = stripePaymentAmount
		} else {
			body["paid"], body["captured"] = true, true
			body["payment_intent"] = nil
		}
		s.mu.Lock()
		body["amount_refunded"] = s.refundedAmount(object, id)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	}
}

// refundedAmount sums the payment's refunds that are not failed. Callers hold mu.
func (s *Server) refundedAmount(param, payment string) int64 {
	var sum int64
	for _, sub := range s.ledger.StripeRefunds {
		if sub.Creations > 0 && sub.stripeTarget(param) == payment && sub.currentStatus() != statusFailed {
			sum += sub.AmountMinor
		}
	}
	return sum
}

// stripeTarget is the refund's payment_intent or charge.
func (sub *Submission) stripeTarget(param string) string {
	if param == "charge" {
		return sub.Charge
	}
	return sub.PaymentIntent
}

// stripeCreateRefund answers POST /v1/refunds. As at Stripe, a repeated
// Idempotency-Key with the same parameters replays the first answer and
// creates nothing; with other parameters it is a 400 idempotency_error.
func (s *Server) stripeCreateRefund(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "", "could not read the request body")
		return
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "", "the body is not form-encoded: "+err.Error())
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	params := form.Encode()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	var sub *Submission
	if key != "" {
		sub = s.ledger.StripeRefunds[key]
	}
	if sub != nil {
		sub.Requests++
		if sub.Params != params {
			sub.Faults["key_reused"]++
			s.ledger.Stats.Faults["stripe_key_reused"]++
			stripeFail(w, http.StatusBadRequest, "idempotency_error", "", "", fmt.Sprintf(
				"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key))
			return
		}
		if sub.Creations > 0 {
			sub.Replays++
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, sub.LastStatus, sub.Response)
			return
		}
	}

	pi, ch := form.Get("payment_intent"), form.Get("charge")
	param, payment := "payment_intent", pi
	switch {
	case pi == "" && ch == "":
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "payment_intent",
			"One of the following params should be provided for this request: payment_intent or charge.")
		return
	case pi != "" && ch != "":
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "charge", "You cannot specify both charge and payment_intent.")
		return
	case ch != "":
		param, payment = "charge", ch
	}
	if !strings.HasPrefix(payment, map[string]string{"payment_intent": "pi_", "charge": "ch_"}[param]) || stripeMissingRule.MatchString(payment) {
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", param, fmt.Sprintf("No such %s: '%s'", param, payment))
		return
	}
	currency := stripeCurrency(payment)
	if c := form.Get("currency"); c != "" && !strings.EqualFold(c, currency) {
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "currency",
			fmt.Sprintf("The currency of the refund (%s) must match the currency of the payment (%s).", strings.ToLower(c), currency))
		return
	}
	left := stripePaymentAmount - s.refundedAmount(param, payment)
	amount := left
	if a := form.Get("amount"); a != "" {
		amount, _ = strconv.ParseInt(a, 10, 64) // the spec check made it an integer
	}
	switch {
	case left <= 0:
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "charge_already_refunded", "",
			fmt.Sprintf("Charge %s has already been refunded.", payment))
		return
	case amount <= 0:
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "amount", "Invalid positive integer")
		return
	case amount > left:
		stripeFail(w, http.StatusBadRequest, "invalid_request_error", "amount_too_large", "amount",
			fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, left))
		return
	}

	now := s.now().UTC()
	ref := newID("re_")
	if key == "" {
		// Without a key nothing replays: the refund is its own entry.
		key = ref
	}
	metadata := map[string]string{}
	for k, v := range form {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") && len(v) > 0 {
			metadata[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	sub = &Submission{
		IdempotencyKey: key,
		Kind:           kindRefund,
		Gateway:        gatewayStripe,
		TransactionID:  payment,
		Amount:         strconv.FormatInt(amount, 10),
		AmountMinor:    amount,
		Currency:       currency,
		ReasonCode:     form.Get("reason"),
		Params:         params,
		Metadata:       metadata,
		Faults:         map[string]int{},
		FirstSeen:      now,
		Requests:       1,
		Reference:      ref,
		CreatedAt:      &now,
		Creations:      1,
		LastStatus:     http.StatusOK,
	}
	if param == "charge" {
		sub.Charge = payment
	} else {
		sub.PaymentIntent, sub.Charge = payment, "ch_"+strings.TrimPrefix(payment, "pi_")
	}
	s.ledger.StripeRefunds[key] = sub
	s.startLifecycle(sub, now)
	sub.Response, _ = json.Marshal(stripeRefundObject(sub))
	writeRaw(w, http.StatusOK, sub.Response)
}

// stripeGetRefund answers GET /v1/refunds/{id}: the refund now.
func (s *Server) stripeGetRefund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	sub := s.stripeRefundByID(id)
	if sub == nil {
		s.mu.Unlock()
		stripeFail(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "id", fmt.Sprintf("No such refund: '%s'", id))
		return
	}
	s.advanceLifecycle(sub, s.now().UTC())
	sub.StatusReads++
	s.dirty = true
	body := stripeRefundObject(sub)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// stripeRefundByID finds a refund by its re_ id. Callers hold mu.
func (s *Server) stripeRefundByID(id string) *Submission {
	for _, sub := range s.ledger.StripeRefunds {
		if sub.Reference == id && sub.Creations > 0 {
			return sub
		}
	}
	return nil
}

// stripeListRefunds answers GET /v1/refunds: newest first, filtered by
// payment_intent or charge and by created[gte|gt|lte|lt] (Unix seconds),
// paged by limit (1-100, default 10) and starting_after.
func (s *Server) stripeListRefunds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			stripeFail(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "limit",
				"This value must be greater than or equal to 1 and less than or equal to 100.")
			return
		}
		limit = n
	}
	created, ok := stripeCreatedFilter(w, q)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now().UTC()
	var all []*Submission
	for _, sub := range s.ledger.StripeRefunds {
		if sub.Creations == 0 {
			continue
		}
		if pi := q.Get("payment_intent"); pi != "" && sub.PaymentIntent != pi {
			continue
		}
		if ch := q.Get("charge"); ch != "" && sub.Charge != ch {
			continue
		}
		if !created(sub.CreatedAt.Unix()) {
			continue
		}
		s.advanceLifecycle(sub, now)
		all = append(all, sub)
	}
	slices.SortFunc(all, func(a, b *Submission) int {
		if c := b.CreatedAt.Compare(*a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Reference, a.Reference)
	})
	if after := q.Get("starting_after"); after != "" {
		i := slices.IndexFunc(all, func(sub *Submission) bool { return sub.Reference == after })
		if i < 0 {
			s.mu.Unlock()
			stripeFail(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "starting_after", fmt.Sprintf("No such refund: '%s'", after))
			return
		}
		all = all[i+1:]
	}
	hasMore := len(all) > limit
	all = all[:min(limit, len(all))]
	data := make([]map[string]any, len(all))
	for i, sub := range all {
		data[i] = stripeRefundObject(sub)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": hasMore, "url": "/v1/refunds"})
}

// stripeCreatedFilter reads Stripe's created[gte], [gt], [lte] and [lt],
// answering 400 for one that is no whole number.
func stripeCreatedFilter(w http.ResponseWriter, q url.Values) (func(int64) bool, bool) {
	bounds := map[string]int64{}
	for _, op := range []string{"gte", "gt", "lte", "lt"} {
		v := q.Get("created[" + op + "]")
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			stripeFail(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "created["+op+"]", "Invalid integer: "+v)
			return nil, false
		}
		bounds[op] = n
	}
	return func(t int64) bool {
		for op, n := range bounds {
			if (op == "gte" && t < n) || (op == "gt" && t <= n) || (op == "lte" && t > n) || (op == "lt" && t >= n) {
				return false
			}
		}
		return true
	}, true
}

// stripeRefundObject is the refund as Stripe shows it.
func stripeRefundObject(sub *Submission) map[string]any {
	obj := map[string]any{
		"id":                       sub.Reference,
		"object":                   "refund",
		"amount":                   sub.AmountMinor,
		"balance_transaction":      nil,
		"charge":                   nullable(sub.Charge),
		"created":                  sub.CreatedAt.Unix(),
		"currency":                 sub.Currency,
		"metadata":                 sub.Metadata,
		"payment_intent":           nullable(sub.PaymentIntent),
		"reason":                   nullable(sub.ReasonCode),
		"receipt_number":           nil,
		"source_transfer_reversal": nil,
		"status":                   sub.currentStatus(),
		"transfer_reversal":        nil,
	}
	if sub.Metadata == nil {
		obj["metadata"] = map[string]string{}
	}
	if sub.currentStatus() == statusFailed {
		obj["failure_reason"] = sub.StatusReason
		obj["failure_balance_transaction"] = nil
	}
	return obj
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stripeFail writes Stripe's error shape.
func stripeFail(w http.ResponseWriter, status int, typ, code, param, message string) {
	e := map[string]string{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
		e["doc_url"] = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}
