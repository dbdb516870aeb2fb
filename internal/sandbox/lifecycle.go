package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Real gateways settle refunds asynchronously: a refund taken as pending
// succeeds or fails later, and one that succeeded can still be reversed.
// These transaction-ID rules make the sandbox do that, for the refund made
// under the transaction's first key (a renewed key, <key>:r<n>, is the
// refund finance approved after a failure: it succeeds at once):
//
//	PENDING-...   pending, then succeeded after SANDBOX_SETTLE_AFTER
//	PENDFAIL-...  pending, then failed (with a reason) after the delay
//	REVERSE-...   succeeded, then reversed (with a reason) after the delay
//
// Every status change of such a refund, its creation included, is a signed
// webhook to SANDBOX_WEBHOOK_URL (see webhooks.go).
const (
	lifecyclePending  = "pending"
	lifecyclePendFail = "pendfail"
	lifecycleReverse  = "reverse"
)

// The gateway's terms for a refund's state.
const (
	statusPending   = "pending"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusReversed  = "reversed"
)

// The reasons the rules give, in the words of a gateway.
const (
	reasonPendFail = "sandbox rule PENDFAIL-: the customer's bank declined the refund"
	reasonReverse  = "sandbox rule REVERSE-: the customer's bank returned the refund"
)

// renewedKey is a key made new after the gateway failed a refund it took.
var renewedKey = regexp.MustCompile(`:r[0-9]+$`)

// StatusChange is one state a refund had at the gateway.
type StatusChange struct {
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// lifecycleOf names the rule a new refund follows, "" for one that
// succeeds at once.
func lifecycleOf(txn, key string) string {
	if renewedKey.MatchString(key) {
		return ""
	}
	switch {
	case strings.HasPrefix(txn, "PENDING-"):
		return lifecyclePending
	case strings.HasPrefix(txn, "PENDFAIL-"):
		return lifecyclePendFail
	case strings.HasPrefix(txn, "REVERSE-"):
		return lifecycleReverse
	}
	return ""
}

// startLifecycle gives a refund just created its first status and, under
// a rule, its next one. Callers hold mu.
func (s *Server) startLifecycle(sub *Submission, at time.Time) {
	// Stripe's words differ: a refund that had succeeded and is taken back
	// is failed there, and its reasons are failure_reason codes.
	pendFail, reverse, reverseReason := reasonPendFail, statusReversed, reasonReverse
	switch sub.Gateway {
	case gatewayStripe:
		sub.Lifecycle = stripeLifecycleOf(sub.TransactionID, sub.IdempotencyKey)
		pendFail, reverse, reverseReason = stripeReasonPendFail, statusFailed, stripeReasonReverse
	case gatewayPayPal:
		sub.Lifecycle = paypalLifecycleOf(sub.TransactionID, sub.IdempotencyKey)
		pendFail, reverseReason = paypalReasonECheck, paypalReasonReverse
	default:
		sub.Lifecycle = lifecycleOf(sub.TransactionID, sub.IdempotencyKey)
	}
	next := at.Add(s.cfg.SettleAfter)
	switch sub.Lifecycle {
	case lifecyclePending:
		sub.setStatus(statusPending, "", at)
		sub.NextStatus, sub.NextAt = statusSucceeded, &next
	case lifecyclePendFail:
		sub.setStatus(statusPending, "", at)
		sub.NextStatus, sub.NextReason, sub.NextAt = statusFailed, pendFail, &next
	case lifecycleReverse:
		sub.setStatus(statusSucceeded, "", at)
		later := at.Add(s.reverseAfter())
		sub.NextStatus, sub.NextReason, sub.NextAt = reverse, reverseReason, &later
	default:
		sub.setStatus(statusSucceeded, "", at)
		return
	}
	s.queueWebhook(sub, true)
}

// reverseAfter is how long a refund that succeeded stays so before its
// lifecycle takes it back.
func (s *Server) reverseAfter() time.Duration {
	if s.cfg.ReverseAfter > 0 {
		return s.cfg.ReverseAfter
	}
	return s.cfg.SettleAfter
}

func (sub *Submission) setStatus(status, reason string, at time.Time) {
	sub.Status, sub.StatusReason = status, reason
	sub.History = append(sub.History, StatusChange{Status: status, Reason: reason, At: at})
}

// advanceLifecycle makes the change a rule has in store once it is due,
// and queues its webhook. Callers hold mu.
func (s *Server) advanceLifecycle(sub *Submission, now time.Time) {
	if sub.NextAt == nil || now.Before(*sub.NextAt) {
		return
	}
	sub.setStatus(sub.NextStatus, sub.NextReason, *sub.NextAt)
	sub.NextStatus, sub.NextReason, sub.NextAt = "", "", nil
	s.dirty = true
	s.queueWebhook(sub, false)
}

// advanceAll advances every refund whose change is due. Callers hold mu.
func (s *Server) advanceAll(now time.Time) {
	for _, m := range s.ledger.allSubmissions() {
		for _, sub := range m {
			s.advanceLifecycle(sub, now)
		}
	}
}

// currentStatus is the refund's state; a refund from a ledger saved before
// statuses existed succeeded.
func (sub *Submission) currentStatus() string {
	if sub.Status == "" && sub.Creations > 0 {
		return statusSucceeded
	}
	return sub.Status
}

// lifecycleResponse is the answer for a refund under a rule: the refund in
// its current state, as a replay of its key gets it too.
func lifecycleResponse(sub *Submission) []byte {
	body := map[string]any{
		"refundId":      sub.Reference,
		"status":        sub.currentStatus(),
		"transactionId": sub.TransactionID,
		"amount":        json.Number(sub.Amount),
		"currency":      sub.Currency,
	}
	if sub.StatusReason != "" {
		body["reason"] = sub.StatusReason
	}
	b, _ := json.Marshal(body)
	return b
}

// refundStatus answers GET /erp/refunds/{refundId} (and
// /erp/chargebacks/{id}), the worker's REFUNDFLOW_GATEWAY_STATUS_URL:
// {status, reason} of the refund now.
func (s *Server) refundStatus(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.checkBearer(w, r) {
			return
		}
		id := r.PathValue("id")
		s.mu.Lock()
		var found *Submission
		for _, sub := range s.ledger.submissions(kind) {
			if sub.Reference == id && sub.Creations > 0 {
				found = sub
				break
			}
		}
		if found == nil {
			s.mu.Unlock()
			gatewayError(w, http.StatusNotFound, "resource_missing", fmt.Sprintf("no %s %q", kind, id))
			return
		}
		s.advanceLifecycle(found, s.now().UTC())
		found.StatusReads++
		s.dirty = true
		body := map[string]any{
			"refundId":      found.Reference,
			"transactionId": found.TransactionID,
			"status":        found.currentStatus(),
			"reason":        found.StatusReason,
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	}
}

// Run moves refunds along their rules and sends the webhooks due, until
// ctx ends. Without it the state still advances whenever a refund is read
// or replayed, but no webhook leaves.
func (s *Server) Run(ctx context.Context) {
	tick := min(max(s.cfg.SettleAfter/10, 10*time.Millisecond), 100*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.step(ctx)
		}
	}
}

// step advances what is due and starts sending the webhooks due.
func (s *Server) step(ctx context.Context) {
	s.mu.Lock()
	now := s.now().UTC()
	s.advanceAll(now)
	due := s.dueWebhooks(now)
	s.mu.Unlock()
	// One refund's events go one after the other, in the order they
	// happened (a reordering is a fault of its own); refunds in parallel.
	var refunds []string
	byRefund := map[string][]*Webhook{}
	for _, wh := range due {
		if byRefund[wh.RefundID] == nil {
			refunds = append(refunds, wh.RefundID)
		}
		byRefund[wh.RefundID] = append(byRefund[wh.RefundID], wh)
	}
	for _, ref := range refunds {
		go func(whs []*Webhook) {
			for _, wh := range whs {
				s.deliver(ctx, wh)
			}
		}(byRefund[ref])
	}
}
