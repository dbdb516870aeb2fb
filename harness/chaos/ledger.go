package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ledger is the sandbox's record of what the gateway and Genesys received:
// the money side of the checks. Field names follow GET /sandbox/ledger.
type ledger struct {
	Summary struct {
		RefundsCreated     int      `json:"refundsCreated"`
		ChargebacksCreated int      `json:"chargebacksCreated"`
		MultipleCreations  []string `json:"multipleCreations"`
		WorkitemsCreated   int      `json:"workitemsCreated"`
		DuplicateWorkitems []string `json:"duplicateWorkitems"`
	} `json:"summary"`
	Refunds         map[string]submission `json:"refunds"`
	Chargebacks     map[string]submission `json:"chargebacks"`
	Workitems       []workitem            `json:"workitems"`
	AttributeWrites []attributeWrite      `json:"attributeWrites"`
	Stats           struct {
		TokensIssued   int            `json:"tokensIssued"`
		TokensRejected int            `json:"tokensRejected"`
		Faults         map[string]int `json:"faults"`
		CardDataSeen   int            `json:"cardDataSeen"`
	} `json:"stats"`
}

type submission struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Kind           string `json:"kind"`
	TransactionID  string `json:"transactionId"`
	AmountMinor    int64  `json:"amountMinor"`
	Requests       int    `json:"requests"`
	Creations      int    `json:"creations"`
	Replays        int    `json:"replays"`
	Reference      string `json:"reference"`
}

type workitem struct {
	ID             string `json:"id"`
	ExternalTag    string `json:"externalTag"`
	StatusCategory string `json:"statusCategory"`
}

type attributeWrite struct {
	Attributes map[string]string `json:"attributes"`
	At         time.Time         `json:"at"`
}

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

func (w *world) fetchLedger(ctx context.Context) (*ledger, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.sandboxURL+"/sandbox/ledger", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox ledger: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sandbox ledger: status %d: %v", resp.StatusCode, err)
	}
	var l ledger
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("decode sandbox ledger: %w", err)
	}
	return &l, nil
}

// byTransaction folds the ledger into one money view per transaction.
func (l *ledger) byTransaction() map[string]*money {
	out := map[string]*money{}
	get := func(txn string) *money {
		if out[txn] == nil {
			out[txn] = &money{}
		}
		return out[txn]
	}
	for _, subs := range []map[string]submission{l.Refunds, l.Chargebacks} {
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
