package main

import (
	"time"

	"github.com/refundflow/refundflow/internal/sandbox"
)

// money is one transaction's side of the ledger.
type money struct {
	Creations int
	// Kinds and References of the submissions that created something.
	Kinds      []string
	References []string
	Workitems  int
	// WorkitemsClosed counts those in a Closed status.
	WorkitemsClosed int
	// LastRefundStatus is what Genesys was last told.
	LastRefundStatus string
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
	for _, subs := range []map[string]*sandbox.Submission{l.Refunds, l.Chargebacks} {
		for _, s := range subs {
			m := get(s.TransactionID)
			m.Creations += s.Creations
			if s.Creations > 0 {
				m.Kinds = append(m.Kinds, s.Kind)
				m.References = append(m.References, s.Reference)
			}
		}
	}
	for _, wi := range l.Workitems {
		m := get(wi.ExternalTag)
		m.Workitems++
		if wi.StatusCategory == "Closed" {
			m.WorkitemsClosed++
		}
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
