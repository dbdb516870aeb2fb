package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
)

// Starter reads the export and single remediations from a starter's
// finance API with an approver token.
type Starter struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Export reads GET /v1/reconciliation as JSON, one record at a time, and
// fails unless the export ended whole ("complete": true).
func (s *Starter) Export(ctx context.Context, w Window) ([]Record, error) {
	q := url.Values{"from": {w.From.UTC().Format(time.RFC3339Nano)}, "to": {w.To.UTC().Format(time.RFC3339Nano)}, "format": {"json"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/v1/reconciliation?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Accept", "application/json")
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{} // no overall timeout: a big window streams for long
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reconciliation export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("reconciliation export: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return DecodeExport(resp.Body)
}

// DecodeExport reads a JSON export record by record, so that only the
// records are held, and checks that it is complete.
func DecodeExport(r io.Reader) ([]Record, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var records []Record
	complete, count := false, -1
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("reconciliation export: %w", err)
		}
		switch tok {
		case "remediations":
			if err := expectDelim(dec, '['); err != nil {
				return nil, err
			}
			for dec.More() {
				var rec Record
				if err := dec.Decode(&rec); err != nil {
					return nil, fmt.Errorf("reconciliation export, record %d: %w", len(records)+1, err)
				}
				records = append(records, rec)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, err
			}
		case "complete":
			if err := dec.Decode(&complete); err != nil {
				return nil, err
			}
		case "count":
			if err := dec.Decode(&count); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
	}
	if !complete || count != len(records) {
		return nil, errors.New("reconciliation export is incomplete: the starter cut it off")
	}
	return records, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("reconciliation export: %w", err)
	}
	if tok != want {
		return fmt.Errorf("reconciliation export: want %q, got %v", want, tok)
	}
	return nil
}

// Remediation is GET /v1/remediations/{transactionId}.
func (s *Starter) Remediation(ctx context.Context, txn string) (Record, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/v1/remediations/"+url.PathEscape(txn), nil)
	if err != nil {
		return Record{}, false, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := httpClient(s.HTTP).Do(req)
	if err != nil {
		return Record{}, false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Record{}, false, nil
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Record{}, false, fmt.Errorf("status of %s: %d %s", txn, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var st remediation.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return Record{}, false, fmt.Errorf("status of %s: %w", txn, err)
	}
	return Record{TransactionID: txn, State: string(st.State), Action: string(st.Action), AmountMinor: st.AmountMinor,
		Currency: st.Currency, GatewayReference: st.GatewayReference, GatewayStatus: st.GatewayStatus,
		Attempts: st.Attempts, Decisions: st.Decisions, Source: SourceQuery}, true, nil
}
