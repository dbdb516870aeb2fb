package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// SandboxLedger is the sandbox's gateways (the ERP's refunds and
// chargebacks, its Stripe, Adyen and PayPal sides' refunds) through GET
// /sandbox/ledger: the one listable ERP here. A real ERP would need its
// own Gateway.
type SandboxLedger struct {
	BaseURL string
	HTTP    *http.Client
}

func (s *SandboxLedger) Name() string { return "sandbox" }

func (s *SandboxLedger) Refunds(ctx context.Context, w Window) ([]GatewayRefund, error) {
	var view sandbox.LedgerView
	if err := getJSON(ctx, s.HTTP, s.BaseURL+"/sandbox/ledger", "", &view); err != nil {
		return nil, err
	}
	var out []GatewayRefund
	for _, m := range []map[string]*sandbox.Submission{view.Refunds, view.Chargebacks, view.StripeRefunds, view.AdyenRefunds, view.PayPalRefunds} {
		for _, sub := range m {
			for _, r := range sandboxRefunds(sub) {
				if !r.Created.Before(w.From) && r.Created.Before(w.To) {
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}

func (s *SandboxLedger) RefundsOf(ctx context.Context, txn, _ string) ([]GatewayRefund, error) {
	var view sandbox.TransactionView
	if err := getJSON(ctx, s.HTTP, s.BaseURL+"/sandbox/ledger/"+url.PathEscape(txn), "", &view); err != nil {
		return nil, err
	}
	var out []GatewayRefund
	for _, sub := range view.Submissions {
		out = append(out, sandboxRefunds(sub)...)
	}
	return out, nil
}

// sandboxRefunds are the refunds a submission created: none when the
// gateway refused it, one as a rule, and one per creation when the
// sandbox was told to ignore the Idempotency-Key (the sabotage that
// proves the checks can fail), each with its own reference.
func sandboxRefunds(sub *sandbox.Submission) []GatewayRefund {
	r, ok := sandboxRefund(sub)
	if !ok {
		return nil
	}
	out := []GatewayRefund{r}
	for i := 2; i <= sub.Creations; i++ {
		again := r
		again.Reference = fmt.Sprintf("%s#%d", r.Reference, i)
		out = append(out, again)
	}
	return out
}

func sandboxRefund(sub *sandbox.Submission) (GatewayRefund, bool) {
	if sub.Creations == 0 || sub.CreatedAt == nil {
		return GatewayRefund{}, false
	}
	gateway := "erp"
	if sub.Gateway != "" {
		gateway = sub.Gateway
	}
	status := sub.Status
	if status == "" {
		status = "succeeded" // created at once, no lifecycle rule
	}
	currency := strings.ToUpper(sub.Currency)
	return GatewayRefund{Gateway: gateway, TransactionID: sub.TransactionID, Reference: sub.Reference,
		AmountMinor: isoMinor(gateway, sub.AmountMinor, currency), Currency: currency, Status: status, Created: sub.CreatedAt.UTC()}, true
}

// isoMinor is a gateway's amount in ISO 4217 minor units, the unit the
// remediations hold: Adyen and PayPal count a few currencies otherwise
// (1500 HUF is 1500 at PayPal, 150000 in ISO). An amount that cannot be
// converted stays as the gateway wrote it, and so shows as a mismatch.
func isoMinor(gateway string, minor int64, currency string) int64 {
	iso, err := money.Exponent(currency)
	if err != nil {
		return minor
	}
	at := iso
	switch gateway {
	case "adyen":
		if at, err = money.AdyenExponent(currency); err != nil {
			return minor
		}
	case "paypal":
		d, ok := money.PayPalDecimals(currency)
		if !ok {
			return minor
		}
		at = d
	}
	v, err := money.Rescale(minor, at, iso)
	if err != nil {
		return minor
	}
	return v
}

// Stripe is Stripe's refunds list (GET /v1/refunds by created window, paged
// with starting_after) and refund read. A refund names its remediation in
// metadata[transaction_id], as the worker sets it; without it, its payment.
type Stripe struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
	// PageLimit is the list's page size; 0 is Stripe's largest, 100.
	PageLimit int
}

func (s *Stripe) Name() string { return "stripe" }

// stripePageLimit is Stripe's largest page.
const stripePageLimit = 100

type stripeRefund struct {
	ID            string            `json:"id"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Status        string            `json:"status"`
	Created       int64             `json:"created"`
	Metadata      map[string]string `json:"metadata"`
	PaymentIntent *string           `json:"payment_intent"`
	Charge        *string           `json:"charge"`
}

func (r stripeRefund) refund() GatewayRefund {
	txn := r.Metadata["transaction_id"]
	if txn == "" && r.PaymentIntent != nil {
		txn = *r.PaymentIntent
	}
	if txn == "" && r.Charge != nil {
		txn = *r.Charge
	}
	return GatewayRefund{Gateway: "stripe", TransactionID: txn, Reference: r.ID, AmountMinor: r.Amount,
		Currency: strings.ToUpper(r.Currency), Status: r.Status, Created: time.Unix(r.Created, 0).UTC()}
}

// Refunds lists the window's refunds. Stripe's created is whole seconds,
// so the window is widened to whole seconds and cut again here.
func (s *Stripe) Refunds(ctx context.Context, w Window) ([]GatewayRefund, error) {
	q := url.Values{}
	limit := s.PageLimit
	if limit <= 0 {
		limit = stripePageLimit
	}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("created[gte]", strconv.FormatInt(w.From.Truncate(time.Second).Unix(), 10))
	q.Set("created[lte]", strconv.FormatInt(w.To.Unix(), 10))
	var out []GatewayRefund
	for {
		var page struct {
			Data    []stripeRefund `json:"data"`
			HasMore bool           `json:"has_more"`
		}
		if err := getJSON(ctx, s.HTTP, s.BaseURL+"/v1/refunds?"+q.Encode(), s.APIKey, &page); err != nil {
			return nil, err
		}
		for _, r := range page.Data {
			g := r.refund()
			if !g.Created.Before(w.From.Truncate(time.Second)) && g.Created.Before(w.To) {
				out = append(out, g)
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
		q.Set("starting_after", page.Data[len(page.Data)-1].ID)
	}
}

// RefundsOf reads the remediation's refund by its reference, or lists the
// refunds of its payment (the transaction ID is the payment's).
func (s *Stripe) RefundsOf(ctx context.Context, txn, reference string) ([]GatewayRefund, error) {
	if reference != "" {
		var r stripeRefund
		if err := getJSON(ctx, s.HTTP, s.BaseURL+"/v1/refunds/"+url.PathEscape(reference), s.APIKey, &r); err != nil {
			return nil, err
		}
		return []GatewayRefund{r.refund()}, nil
	}
	param := "payment_intent"
	if strings.HasPrefix(txn, "ch_") || strings.HasPrefix(txn, "py_") {
		param = "charge"
	}
	q := url.Values{param: {txn}, "limit": {strconv.Itoa(stripePageLimit)}}
	var page struct {
		Data []stripeRefund `json:"data"`
	}
	if err := getJSON(ctx, s.HTTP, s.BaseURL+"/v1/refunds?"+q.Encode(), s.APIKey, &page); err != nil {
		return nil, err
	}
	out := make([]GatewayRefund, 0, len(page.Data))
	for _, r := range page.Data {
		out = append(out, r.refund())
	}
	return out, nil
}

// getJSON GETs url with an optional Bearer token and decodes a 200 body.
func getJSON(ctx context.Context, hc *http.Client, u, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient(hc).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %d %s", redactQuery(u), resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", redactQuery(u), err)
	}
	return nil
}

func redactQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

func httpClient(hc *http.Client) *http.Client {
	if hc != nil {
		return hc
	}
	return &http.Client{Timeout: 30 * time.Second}
}
