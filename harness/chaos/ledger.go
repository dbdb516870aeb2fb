package main

import (
	"sort"
	"time"

	"github.com/refundflow/refundflow/internal/sandbox"
)

// money is one transaction's side of the ledger.
type money struct {
	Creations int
	// Kinds and References of the submissions that created something.
	Kinds      []string
	References []string
	// Created are those submissions, oldest first, with their status
	// history at the gateway.
	Created   []created
	Workitems int
	// WorkitemsClosed counts those in a Closed status.
	WorkitemsClosed int
	// LastRefundStatus is what Genesys was last told.
	LastRefundStatus string
	// Webhooks are the gateway's events about the transaction, as sent
	// (or not) to the starter.
	Webhooks []*sandbox.Webhook
}

// created is one refund or chargeback the gateway made.
type created struct {
	Kind, Reference, Key string
	// Lifecycle is the sandbox rule it followed, "" for none.
	Lifecycle string
	// Final is its status now; Failed and Reversed whether it ever was.
	Final    string
	Pending  bool
	Failed   bool
	Reversed bool
	// FinalAt is when it took its final status (its last change).
	FinalAt   time.Time
	CreatedAt time.Time
}

// live reports whether the refund stands: the money went, or may still go,
// to the customer. A failed or reversed one does not.
func (c created) live() bool { return !c.Failed && !c.Reversed }

// Live are the refunds and chargebacks that stand.
func (m *money) Live() []created {
	var out []created
	for _, c := range m.Created {
		if c.live() {
			out = append(out, c)
		}
	}
	return out
}

// moneyByTransaction folds the ledger into one money view per transaction.
func moneyByTransaction(l *sandbox.LedgerView) map[string]*money {
	out := map[string]*money{}
	get := func(txn string) *money {
		if out[txn] == nil {
			out[txn] = &money{}
		}
		return out[txn]
	}
	for _, subs := range []map[string]*sandbox.Submission{l.Refunds, l.Chargebacks, l.AdyenRefunds, l.PayPalRefunds, l.StripeRefunds} {
		for _, s := range subs {
			m := get(s.TransactionID)
			m.Creations += s.Creations
			if s.Creations > 0 {
				m.Kinds = append(m.Kinds, s.Kind)
				m.References = append(m.References, s.Reference)
				c := created{Kind: s.Kind, Reference: s.Reference, Key: s.IdempotencyKey, Lifecycle: s.Lifecycle, Final: s.Status}
				if s.CreatedAt != nil {
					c.CreatedAt = *s.CreatedAt
				}
				if c.Final == "" {
					c.Final = "succeeded" // a ledger from before statuses
				}
				for _, h := range s.History {
					switch h.Status {
					case "pending":
						c.Pending = true
					case "failed":
						c.Failed = true
					case "reversed":
						c.Reversed = true
					}
					c.FinalAt = h.At
				}
				// A gateway that ignores the key makes several under one.
				for range s.Creations {
					m.Created = append(m.Created, c)
				}
			}
		}
	}
	for _, m := range out {
		sort.Slice(m.Created, func(i, j int) bool { return m.Created[i].CreatedAt.Before(m.Created[j].CreatedAt) })
	}
	for _, wi := range l.Workitems {
		m := get(wi.ExternalTag)
		m.Workitems++
		if wi.StatusCategory == "Closed" {
			m.WorkitemsClosed++
		}
	}
	for _, wh := range l.Webhooks {
		m := get(wh.TransactionID)
		m.Webhooks = append(m.Webhooks, wh)
	}
	var lastAt = map[string]time.Time{}
	for _, aw := range l.AttributeWrites {
		txn := aw.Attributes["refundTransactionId"]
		if txn == "" || aw.At.Before(lastAt[txn]) {
			continue
		}
		lastAt[txn] = aw.At
		get(txn).LastRefundStatus = aw.Attributes["refundStatus"]
	}
	return out
}
