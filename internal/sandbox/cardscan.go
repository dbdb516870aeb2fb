package sandbox

import (
	"bytes"
	"io"
	"net/http"

	"github.com/refundflow/refundflow/internal/pci"
)

// screenCardData counts requests whose body holds cardholder data, by the
// same rule the starter refuses a webhook with (pci.ContainsCardholderData:
// a Luhn-valid card number in any value or key, or a key named like a card
// field; a body that is not JSON, such as a form, is scanned as text).
// Nothing the service sends out may carry one (contract §1), so the
// ledger's stats.cardDataSeen must stay 0; the number itself is never
// stored, only the path it was sent to.
func (s *Server) screenCardData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Method != http.MethodGet {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			_ = r.Body.Close()
			if err != nil {
				http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
				return
			}
			if pci.ContainsCardholderData(body) {
				s.mu.Lock()
				s.ledger.Stats.CardDataSeen++
				if len(s.ledger.Stats.CardDataPaths) < 100 {
					s.ledger.Stats.CardDataPaths = append(s.ledger.Stats.CardDataPaths, r.Method+" "+r.URL.Path)
				}
				s.dirty = true
				s.mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}
