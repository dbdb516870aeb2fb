package sandbox

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// stripeFaults puts the gateway faults the ERP, Adyen and PayPal sides have
// (SANDBOX_FAULT_5XX, SANDBOX_FAULT_429 with Retry-After, SANDBOX_FAULT_HANG,
// and X-Sandbox-Fail) in front of the Stripe side's POST /v1/refunds, on the
// same dice, answered in Stripe's error shape. As at the other sides, a 5xx
// or a 429 can strike any call, a replay included, and creates nothing; a
// hang strikes a call that created a refund: the refund is made, then the
// answer waits SANDBOX_HANG_FOR, so only a retry under the same
// Idempotency-Key (or the worker's lookup) finds it. The reads (the
// payment, the refund list, one refund) are left alone, as the other sides'
// are. Counted in stats.faults as stripe_<status>, stripe_429, stripe_hang.
func (s *Server) stripeFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != stripePrefix+"/v1/refunds" {
			next.ServeHTTP(w, r)
			return
		}
		forcedStatus, forcedHang, err := forcedFault(r)
		if err != nil {
			stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "", err.Error())
			return
		}
		key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))

		s.mu.Lock()
		status := forcedStatus
		switch {
		case status != 0:
		case s.roll(s.cfg.Fault5xx):
			status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.dice.IntN(3)]
		case s.roll(s.cfg.Fault429):
			status = http.StatusTooManyRequests
		}
		if status != 0 {
			fault := strconv.Itoa(status)
			if forcedStatus != 0 {
				fault = "forced_" + fault
			}
			s.countStripeFault(key, fault)
			retryAfter := s.retryAfterSeconds()
			s.mu.Unlock()
			stripeFault(w, status, retryAfter)
			return
		}
		hang := forcedHang || s.roll(s.cfg.FaultHang)
		s.mu.Unlock()
		if !hang {
			next.ServeHTTP(w, r)
			return
		}

		rec := &bufferedResponse{header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK && rec.header.Get("Idempotent-Replayed") == "" {
			s.mu.Lock()
			s.countStripeFault(key, "hang")
			s.mu.Unlock()
			s.sleep(s.cfg.HangFor, r.Context().Done())
			if r.Context().Err() != nil {
				return
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// countStripeFault records a fault in the stats and, when the key has a
// refund entry, on it; a call that never reached the handler (a 5xx or a
// 429) is also counted as one of the key's requests there. Callers hold mu.
func (s *Server) countStripeFault(key, fault string) {
	s.ledger.Stats.Faults["stripe_"+fault]++
	if sub := s.ledger.StripeRefunds[key]; key != "" && sub != nil {
		if fault != "hang" {
			sub.Requests++
		}
		if sub.Faults == nil {
			sub.Faults = map[string]int{}
		}
		sub.Faults[fault]++
	}
	s.dirty = true
}

// stripeFault answers an injected 5xx or 429 as Stripe does: an api_error
// for a server error, a rate_limit for too many requests
// (https://docs.stripe.com/error-codes#rate-limit), with Retry-After on a
// 429 as every other side of the sandbox sends it.
func stripeFault(w http.ResponseWriter, status int, retryAfter string) {
	switch {
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfter)
		stripeFail(w, status, "invalid_request_error", "rate_limit", "",
			"Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.")
	case status >= 500:
		stripeFail(w, status, "api_error", "", "", "An unknown error occurred (injected by the sandbox).")
	default:
		stripeFail(w, status, "invalid_request_error", "", "", "failure forced by X-Sandbox-Fail")
	}
}

// bufferedResponse holds an answer back, so that a hang can delay it after
// the refund was made.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
