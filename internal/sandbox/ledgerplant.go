package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/refundflow/refundflow/internal/money"
)

// PlantedEntry is POST /sandbox/ledger/entries: a test writes the gateway's
// side of a disagreement straight into the ledger, as if the gateway had
// done it (a refund nobody asked for, an amount it changed, a refund it
// lost), so that a reconciliation can be shown to find exactly that. Only
// the sandbox has this: no gateway lets anyone write its ledger.
type PlantedEntry struct {
	// Gateway is "erp" (default) or "stripe"; Kind refund (default) or
	// chargeback, for the ERP.
	Gateway        string `json:"gateway,omitempty"`
	Kind           string `json:"kind,omitempty"`
	IdempotencyKey string `json:"idempotencyKey"`
	TransactionID  string `json:"transactionId"`
	AmountMinor    int64  `json:"amountMinor"`
	Currency       string `json:"currency"`
	// Status is the refund's state (default succeeded).
	Status string `json:"status,omitempty"`
	// Remove deletes the entry with IdempotencyKey instead.
	Remove bool `json:"remove,omitempty"`
}

// plantEntry answers POST /sandbox/ledger/entries: 200 with the entry as
// stored, 204 for a removal, 404 when there is nothing to remove.
func (s *Server) plantEntry(w http.ResponseWriter, r *http.Request) {
	var p PlantedEntry
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&p); err != nil || p.IdempotencyKey == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {idempotencyKey, transactionId, amountMinor, currency, status?, gateway?, kind?, remove?}"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.ledger.submissions(p.Kind)
	if p.Gateway == gatewayStripe {
		m = s.ledger.StripeRefunds
	}
	if p.Remove {
		if _, ok := m[p.IdempotencyKey]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no entry with that idempotencyKey"})
			return
		}
		delete(m, p.IdempotencyKey)
		s.dirty = true
		w.WriteHeader(http.StatusNoContent)
		return
	}
	now := s.now().UTC()
	sub, ok := m[p.IdempotencyKey]
	if !ok {
		kind := kindRefund
		if p.Kind == kindChargeback {
			kind = kindChargeback
		}
		prefix := "rf_"
		if p.Gateway == gatewayStripe {
			prefix = "re_"
		}
		sub = &Submission{IdempotencyKey: p.IdempotencyKey, Kind: kind, FirstSeen: now, CreatedAt: &now,
			Reference: newID(prefix), Creations: 1, LastStatus: http.StatusCreated, InitiatedBy: "planted"}
		if p.Gateway == gatewayStripe {
			sub.Gateway = gatewayStripe
			sub.Metadata = map[string]string{"transaction_id": p.TransactionID}
		}
		m[p.IdempotencyKey] = sub
	}
	if p.TransactionID != "" {
		sub.TransactionID = p.TransactionID
	}
	if p.Currency != "" {
		sub.Currency = strings.ToUpper(p.Currency)
		if sub.Gateway == gatewayStripe {
			sub.Currency = strings.ToLower(p.Currency)
		}
	}
	sub.AmountMinor = p.AmountMinor
	if major, err := money.FormatMajor(p.AmountMinor, strings.ToUpper(sub.Currency)); err == nil {
		sub.Amount = major
	}
	sub.Status = statusSucceeded
	if p.Status != "" {
		sub.Status = p.Status
	}
	// A planted state is final: no lifecycle rule moves it on.
	sub.Lifecycle, sub.NextStatus, sub.NextReason, sub.NextAt = "", "", "", nil
	sub.History = append(sub.History, StatusChange{Status: sub.Status, At: now})
	s.dirty = true
	writeJSON(w, http.StatusOK, sub)
}
