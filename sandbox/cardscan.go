package main

import (
	"bytes"
	"io"
	"net/http"
)

// screenCardData counts requests whose body holds something shaped like a
// card number. Nothing the service sends out may carry one (contract §1), so
// the ledger's stats.cardDataSeen must stay 0; the number itself is never
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
			if containsCardNumber(body) {
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

// containsCardNumber finds a run of 13 to 19 digits, single spaces or dashes
// allowed between them, that passes the Luhn check and stands on its own:
// digits glued to a letter, directly or by a dash, belong to an identifier
// (a gateway reference such as rf_8134843355956555a7c58dbb, a UUID's last
// groups), and counting those would make the counter fire on ids by chance.
func containsCardNumber(b []byte) bool {
	var digits []byte
	glued := false
	flush := func(at int) bool {
		after := at < len(b) && (isLetter(b[at]) || b[at] == '-' && at+1 < len(b) && isLetter(b[at+1]))
		ok := !glued && !after && len(digits) >= 13 && len(digits) <= 19 && luhnValid(digits)
		digits = digits[:0]
		return ok
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == 0 {
				glued = i > 0 && (isLetter(b[i-1]) || b[i-1] == '-' && i > 1 && isLetter(b[i-2]))
			}
			digits = append(digits, c)
		case (c == ' ' || c == '-') && len(digits) > 0 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9':
			// a separator inside a number
		default:
			if flush(i) {
				return true
			}
		}
	}
	return flush(len(b))
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func luhnValid(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
