package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
)

const (
	kindRefund     = "refund"
	kindChargeback = "chargeback"
)

// gatewayRequest is the contract's body for POST /erp/refunds and
// /erp/chargebacks. Unknown fields are refused: the sandbox checks the
// contract, so an extra field (a card token, say) shows up as a 400 here
// rather than in production.
type gatewayRequest struct {
	TransactionID string          `json:"transactionId"`
	CustomerID    string          `json:"customerId"`
	RefundAmount  json.RawMessage `json:"refundAmount"`
	Currency      string          `json:"currency"`
	ReasonCode    string          `json:"reasonCode"`
	InitiatedBy   string          `json:"initiatedBy"`
	Timestamp     string          `json:"timestamp"`
}

// plainDecimal is a JSON number written as digits with an optional fraction:
// no sign, no exponent, which is what an exact amount must look like.
var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// Transaction-ID rules a developer or a test can use without any header:
//
//	FAIL-...   503 until POST /sandbox/heal/{transactionId}
//	FAIL3-...  503 for the first 3 calls of the key, then success
//	REJECT-... 422, final
//	HANG-...   recorded, then answered only after SANDBOX_HANG_FOR
//
// and the lifecycle rules of lifecycle.go (PENDING-, PENDFAIL-, REVERSE-).
var failRule = regexp.MustCompile(`^FAIL([0-9]*)-`)

// gatewaySubmit serves one kind of gateway call. The order is the one a real
// gateway's idempotency layer has: authenticate, validate, then look the key
// up under a lock, and record the refund before answering, so that a caller
// who times out and retries is replayed the same refund and never gets a
// second one.
func (s *Server) gatewaySubmit(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.checkBearer(w, r) {
			return
		}
		key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		if key == "" {
			gatewayError(w, http.StatusBadRequest, "missing_idempotency_key", "the Idempotency-Key header is required")
			return
		}
		forcedStatus, forcedHang, err := forcedFault(r)
		if err != nil {
			gatewayError(w, http.StatusBadRequest, "invalid_sandbox_header", err.Error())
			return
		}
		req, amountMinor, err := decodeGatewayRequest(r, w, kind, key)
		if err != nil {
			gatewayError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}

		s.mu.Lock()
		s.dirty = true
		subs := s.ledger.submissions(kind)
		sub, seen := subs[key]
		if !seen {
			sub = &Submission{
				IdempotencyKey: key,
				Kind:           kind,
				TransactionID:  req.TransactionID,
				CustomerID:     req.CustomerID,
				Amount:         string(req.RefundAmount),
				AmountMinor:    amountMinor,
				Currency:       req.Currency,
				ReasonCode:     req.ReasonCode,
				InitiatedBy:    req.InitiatedBy,
				Timestamp:      req.Timestamp,
				Faults:         map[string]int{},
				FirstSeen:      s.now().UTC(),
			}
			subs[key] = sub
		}
		sub.Requests++
		answer := func(status int, body []byte, fault string) {
			sub.LastStatus = status
			if fault != "" {
				sub.Faults[fault]++
				s.ledger.Stats.Faults[fault]++
			}
			s.mu.Unlock()
			writeRaw(w, status, body)
		}

		if seen && (sub.AmountMinor != amountMinor || sub.Currency != req.Currency || sub.TransactionID != req.TransactionID || sub.ReasonCode != req.ReasonCode || sub.CustomerID != req.CustomerID) {
			// A real gateway refuses a key reused with other parameters; here
			// it also means the caller's key is not derived as the contract says.
			answer(http.StatusUnprocessableEntity, errorBody("idempotency_key_reused", "this Idempotency-Key was used with different parameters"), "key_reused")
			return
		}
		if forcedStatus != 0 {
			if forcedStatus == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", s.retryAfterSeconds())
			}
			answer(forcedStatus, errorBody("sandbox_forced", "failure forced by X-Sandbox-Fail"), "forced_"+strconv.Itoa(forcedStatus))
			return
		}
		// Transient faults can hit any call, a replay included.
		if s.roll(s.cfg.Fault5xx) {
			status := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.dice.IntN(3)]
			answer(status, errorBody("sandbox_fault", "injected server error"), strconv.Itoa(status))
			return
		}
		if s.roll(s.cfg.Fault429) {
			w.Header().Set("Retry-After", s.retryAfterSeconds())
			answer(http.StatusTooManyRequests, errorBody("rate_limited", "injected rate limit"), "429")
			return
		}
		if sub.Creations > 0 && !s.cfg.IgnoreIdempotencyKey {
			sub.Replays++
			w.Header().Set("Idempotent-Replayed", "true")
			response := sub.Response
			if sub.Lifecycle != "" {
				// The same refund, in the state it is in now.
				s.advanceLifecycle(sub, s.now().UTC())
				response = lifecycleResponse(sub)
			}
			answer(http.StatusCreated, response, "")
			return
		}
		if m := failRule.FindStringSubmatch(req.TransactionID); m != nil && !s.ledger.Healed[req.TransactionID] {
			limit, _ := strconv.Atoi(m[1])
			if m[1] == "" || sub.Faults["rule_fail"] < limit {
				answer(http.StatusServiceUnavailable, errorBody("gateway_unavailable", "sandbox rule: FAIL- transactions fail until healed"), "rule_fail")
				return
			}
		}
		if strings.HasPrefix(req.TransactionID, "REJECT-") {
			answer(http.StatusUnprocessableEntity, errorBody("refund_declined", "sandbox rule: REJECT- transactions are declined"), "rule_reject")
			return
		}
		if s.roll(s.cfg.Fault422) {
			answer(http.StatusUnprocessableEntity, errorBody("refund_declined", "injected final decline"), "422")
			return
		}

		// Create the refund, then answer. A hang happens after the record,
		// which is the case idempotency exists for.
		prefix, idField := "rf_", "refundId"
		if kind == kindChargeback {
			// Chargebacks answer with "id", so callers handle both shapes
			// the contract allows.
			prefix, idField = "cb_", "id"
		}
		sub.Reference = newID(prefix)
		created := s.now().UTC()
		sub.CreatedAt = &created
		sub.Creations++
		sub.Response, _ = json.Marshal(map[string]any{
			idField:         sub.Reference,
			"status":        "created",
			"transactionId": sub.TransactionID,
			"amount":        json.Number(sub.Amount),
			"currency":      sub.Currency,
		})
		s.startLifecycle(sub, created)
		if sub.Lifecycle != "" {
			sub.Response = lifecycleResponse(sub)
		}
		hang := forcedHang || strings.HasPrefix(req.TransactionID, "HANG-") || s.roll(s.cfg.FaultHang)
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
			writeRaw(w, http.StatusCreated, response)
		}
	}
}

// decodeGatewayRequest checks the body against the contract and returns the
// amount in minor units.
func decodeGatewayRequest(r *http.Request, w http.ResponseWriter, kind, key string) (gatewayRequest, int64, error) {
	var req gatewayRequest
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return req, 0, fmt.Errorf("Content-Type must be application/json, got %q", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, 0, fmt.Errorf("body: %w", err)
	}
	var problems []string
	if req.TransactionID == "" {
		problems = append(problems, "transactionId is required")
	}
	raw := bytes.TrimSpace(req.RefundAmount)
	var amountMinor int64
	switch {
	case len(raw) == 0:
		problems = append(problems, "refundAmount is required")
	case !plainDecimal.Match(raw):
		problems = append(problems, fmt.Sprintf("refundAmount must be a plain positive JSON number, got %s", raw))
	default:
		v, err := money.ParseRefund(string(raw), req.Currency)
		if err != nil {
			problems = append(problems, fmt.Sprintf("refundAmount %s %s: %v", raw, req.Currency, err))
		}
		amountMinor = v
	}
	if _, err := money.Exponent(req.Currency); err != nil {
		problems = append(problems, fmt.Sprintf("currency %q is not an ISO 4217 code", req.Currency))
	}
	if req.ReasonCode == "" {
		problems = append(problems, "reasonCode is required")
	}
	if req.InitiatedBy != remediation.InitiatedBy {
		problems = append(problems, fmt.Sprintf("initiatedBy must be %q", remediation.InitiatedBy))
	}
	if req.TransactionID != "" && amountMinor > 0 {
		// The contract derives the key: <transactionId>:<action>, plus
		// :<amountMinor> for an approval with a corrected amount.
		// After the gateway failed a refund it took, an approval renews the
		// key with :r<attempt>.
		base := req.TransactionID + ":" + kind
		k := renewedKey.ReplaceAllString(key, "")
		if k != base && k != base+":"+strconv.FormatInt(amountMinor, 10) {
			problems = append(problems, fmt.Sprintf("Idempotency-Key %q is neither %q nor %q (optionally with :r<attempt>)", key, base, base+":"+strconv.FormatInt(amountMinor, 10)))
		}
	}
	if len(problems) > 0 {
		return req, 0, errors.New(strings.Join(problems, "; "))
	}
	req.RefundAmount = raw
	return req, amountMinor, nil
}

func errorBody(code, message string) []byte {
	b, _ := json.Marshal(map[string]string{"error": code, "message": message})
	return b
}

func gatewayError(w http.ResponseWriter, status int, code, message string) {
	writeRaw(w, status, errorBody(code, message))
}
