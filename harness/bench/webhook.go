package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// webhookClient posts dispositions as Genesys's Data Action would, over
// kept-alive connections: one per request in flight, so the benchmark
// measures the starter, not TCP handshakes.
type webhookClient struct {
	base string
	http *http.Client
}

func newWebhookClient(base string, concurrency int) *webhookClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency
	t.MaxIdleConnsPerHost = concurrency
	return &webhookClient{base: base, http: &http.Client{Transport: t, Timeout: 30 * time.Second}}
}

// post sends the disposition of a refund for txn and checks the answer's
// status ("started" or "duplicate") and, when given, the state.
func (c *webhookClient) post(ctx context.Context, txn, wantStatus, wantState string) error {
	body, err := json.Marshal(map[string]string{
		"transactionId": txn, "dispositionCode": "Refund_Processed",
		"customerTokenId": "tok_visa_1234", "customerId": "C-" + txn,
		"refundAmount": "49.99", "currency": "USD",
		"conversationId": "conv-" + txn, "participantId": "part-agent", "communicationId": "comm-1",
		"agentId": "agent-7", "queueId": "queue-1",
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/dispositions", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+webhookToken)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", txn, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read answer for %s: %w", txn, err)
	}
	var answer struct {
		Status string `json:"status"`
		State  string `json:"state"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil || answer.Status != wantStatus || (wantState != "" && answer.State != wantState) {
		return fmt.Errorf("post %s: %d %s, want %s %s", txn, resp.StatusCode, raw, wantStatus, wantState)
	}
	return nil
}

// checkLedger asks the sandbox whether exactly want refunds were created,
// none twice: the money moved once per transaction.
func (b *bench) checkLedger(ctx context.Context, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.w.sandboxURL+"/sandbox/ledger", nil)
	if err != nil {
		return err
	}
	resp, err := b.http.http.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox ledger: %w", err)
	}
	defer resp.Body.Close()
	var ledger struct {
		Summary struct {
			RefundsCreated    int      `json:"refundsCreated"`
			MultipleCreations []string `json:"multipleCreations"`
		} `json:"summary"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ledger); err != nil {
		return fmt.Errorf("sandbox ledger: %w", err)
	}
	if s := ledger.Summary; s.RefundsCreated != want || len(s.MultipleCreations) > 0 {
		return fmt.Errorf("sandbox ledger: %d refunds created, want %d; created more than once: %v", s.RefundsCreated, want, s.MultipleCreations)
	}
	return nil
}
