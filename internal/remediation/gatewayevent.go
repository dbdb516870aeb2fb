package remediation

import (
	"fmt"
	"strings"
)

// GatewayEvent is the gateway-event signal: the gateway's word on a
// submitted refund, from its webhook (through the starter) or from a poll
// by the worker.
type GatewayEvent struct {
	// EventID deduplicates: the gateway's own event ID for a webhook,
	// "poll:<n>" for the n-th poll of a run.
	EventID          string `json:"eventId"`
	Gateway          string `json:"gateway"`
	GatewayReference string `json:"gatewayReference"`
	// Status is the gateway's own term (see Settlement).
	Status string `json:"status"`
	// Reason is the gateway's reason for a failure (Stripe's
	// failure_reason), empty otherwise.
	Reason string `json:"reason,omitempty"`
	// OccurredAt (RFC 3339) orders events: one older than the last applied
	// for the same reference never moves the state back.
	OccurredAt string `json:"occurredAt,omitempty"`
}

// Settlement is what a gateway status means for the money.
type Settlement int

const (
	// SettlementUnknown: a term no rule knows; recorded, changes nothing.
	SettlementUnknown Settlement = iota
	// SettlementPending: taken, not final (pending, processing,
	// requires_action, Adyen's received).
	SettlementPending
	// SettlementSucceeded: the money reached the customer.
	SettlementSucceeded
	// SettlementFailed: final failure (failed, canceled).
	SettlementFailed
	// SettlementReversed: a refund that had succeeded was taken back.
	SettlementReversed
)

// SettlementOf classifies a gateway status term, case-insensitively.
func SettlementOf(status string) Settlement {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "pending", "processing", "requires_action", "received":
		return SettlementPending
	case "succeeded", "completed", "success":
		return SettlementSucceeded
	case "failed", "canceled", "cancelled", "refund_failed":
		return SettlementFailed
	case "reversed", "refunded_reversed":
		return SettlementReversed
	}
	return SettlementUnknown
}

// Final reports whether no later word but a reversal can follow.
func (s Settlement) Final() bool {
	return s == SettlementSucceeded || s == SettlementFailed || s == SettlementReversed
}

// Later reports whether s can follow t for one refund: a refund goes
// from pending to succeeded, and from either to failed or reversed, never
// back. A word that cannot follow is stale (a late or redelivered event).
func (s Settlement) Later(t Settlement) bool {
	rank := func(x Settlement) int {
		switch x {
		case SettlementPending:
			return 1
		case SettlementSucceeded:
			return 2
		case SettlementFailed, SettlementReversed:
			return 3
		}
		return 0
	}
	return rank(s) >= rank(t)
}

func (s Settlement) String() string {
	return [...]string{"unknown", "pending", "succeeded", "failed", "reversed"}[s]
}

// RenewedIdempotencyKey is the key of a submission after the gateway failed
// one it had taken: the old key would replay the failed refund, so the
// attempt number makes it new (TX1:refund:r2).
func RenewedIdempotencyKey(key string, attempt int) string {
	return fmt.Sprintf("%s:r%d", key, attempt)
}
