package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/sandbox"
	"github.com/refundflow/refundflow/internal/testenv"
)

var window = Window{From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}

func rec(txn, state string, amount int64, at time.Time) Record {
	return Record{TransactionID: txn, State: state, AmountMinor: amount, Currency: "USD", StartTime: at, GatewayReference: "rf_" + txn}
}

func refund(txn string, amount int64, status string) GatewayRefund {
	return GatewayRefund{Gateway: "erp", TransactionID: txn, Reference: "rf_" + txn, AmountMinor: amount, Currency: "USD", Status: status, Created: window.From.Add(time.Hour)}
}

// fakeGateway lists refunds in the window and holds more outside it.
type fakeGateway struct{ inWindow, outside []GatewayRefund }

func (f fakeGateway) Name() string { return "fake" }
func (f fakeGateway) Refunds(context.Context, Window) ([]GatewayRefund, error) {
	return f.inWindow, nil
}
func (f fakeGateway) RefundsOf(_ context.Context, txn, _ string) ([]GatewayRefund, error) {
	var out []GatewayRefund
	for _, r := range slices.Concat(f.inWindow, f.outside) {
		if r.TransactionID == txn {
			out = append(out, r)
		}
	}
	return out, nil
}

type fakeRemediations map[string]Record

func (f fakeRemediations) Remediation(_ context.Context, txn string) (Record, bool, error) {
	r, ok := f[txn]
	return r, ok, nil
}

func TestReconcileKinds(t *testing.T) {
	t.Parallel()
	at := window.From.Add(time.Minute)
	records := []Record{
		rec("ok", "Completed", 1000, at),
		rec("lost", "Completed", 1000, at),
		rec("more", "Completed", 1000, at),
		rec("twice", "Completed", 1000, at),
		rec("review", "AwaitingReview", 1000, at),
		rec("pending", "AwaitingGateway", 1000, at),
		// Reopened after a reversal: the later run counts.
		rec("reversed", "Completed", 1000, at),
		rec("reversed", "AwaitingReview", 1000, at.Add(time.Hour)),
		// Its refund was made after the window: looked up, it agrees.
		rec("late", "Completed", 1000, at),
	}
	gw := fakeGateway{
		inWindow: []GatewayRefund{
			refund("ok", 1000, "succeeded"),
			refund("more", 1100, "succeeded"),
			refund("twice", 1000, "succeeded"), {Gateway: "erp", TransactionID: "twice", Reference: "rf_2", AmountMinor: 1000, Currency: "USD", Status: "succeeded"},
			refund("review", 1000, "succeeded"),
			refund("pending", 1000, "pending"),
			refund("reversed", 1000, "reversed"),
			refund("stranger", 500, "succeeded"),
			refund("failed", 500, "failed"),
			// Its remediation started before the window and agrees.
			refund("early", 700, "succeeded"),
		},
		outside: []GatewayRefund{refund("late", 1000, "succeeded")},
	}
	rems := fakeRemediations{"early": rec("early", "Completed", 700, window.From.Add(-time.Hour))}
	res, err := Reconcile(context.Background(), window, records, gw, rems)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range res.Mismatches {
		got[m.TransactionID] = m.Kind
	}
	want := map[string]string{
		"lost":     CompletedWithoutMoney,
		"more":     AmountDiffers,
		"twice":    AmountDiffers,
		"review":   MoneyWithoutCompleted,
		"stranger": MoneyWithoutCompleted,
	}
	if len(got) != len(want) || len(res.Mismatches) != len(want) {
		t.Fatalf("mismatches %+v, want %v", res.Mismatches, want)
	}
	for txn, kind := range want {
		if got[txn] != kind {
			t.Errorf("%s: %q, want %q", txn, got[txn], kind)
		}
	}
	if res.Remediations != 8 || res.Completed != 5 || res.Refunds != 10 || res.Moved != 7 {
		t.Errorf("counts %+v", res)
	}
}

func TestDecodeExportWantsAWholeExport(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	out := NewWriter(&buf, ShapeRemediations, EncodingJSON)
	if err := out.Begin(window); err != nil {
		t.Fatal(err)
	}
	for _, txn := range []string{"a", "b", "c"} {
		r := rec(txn, "Completed", 100, window.From)
		r.Decisions = []remediation.DecisionRecord{{Decision: remediation.Decision{DecisionID: "d1", Decision: "approve", Approver: "alice"}, Outcome: "applied"}}
		if err := out.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	cut := buf.String()
	if err := out.End(); err != nil {
		t.Fatal(err)
	}
	records, err := DecodeExport(strings.NewReader(buf.String()))
	if err != nil || len(records) != 3 || records[2].TransactionID != "c" || records[0].Decisions[0].Approver != "alice" {
		t.Fatalf("whole export: %v %+v", err, records)
	}
	var whole Export
	if err := json.Unmarshal(buf.Bytes(), &whole); err != nil || !whole.Complete || whole.Count != 3 || whole.Window != "startTime" {
		t.Errorf("export as one document: %v %+v", err, whole)
	}
	for _, broken := range []string{cut, cut + "\n]}", strings.Replace(buf.String(), `"count":3`, `"count":4`, 1)} {
		if _, err := DecodeExport(strings.NewReader(broken)); err == nil {
			t.Errorf("no error for a cut-off export:\n%s", broken)
		}
	}
}

// The Stripe gateway against the sandbox's stateful Stripe side: the
// created window, paged with starting_after, and a read by reference.
func TestStripeRefundsPagedByCreatedWindow(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Config{Clients: "c:s", TokenTTL: time.Minute, StripeAPIKeys: "sk_test_123"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	var planted []string
	for i := range 5 {
		txn := "pi_recon" + string(rune('a'+i))
		body, _ := json.Marshal(sandbox.PlantedEntry{Gateway: "stripe", IdempotencyKey: txn + ":refund", TransactionID: txn, AmountMinor: int64(100 + i), Currency: "USD"})
		resp, err := http.Post(srv.URL+"/sandbox/ledger/entries", "application/json", bytes.NewReader(body))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("plant: %v %v", err, resp)
		}
		resp.Body.Close()
		planted = append(planted, txn)
	}
	stripe := &Stripe{BaseURL: srv.URL + "/stripe", APIKey: "sk_test_123", PageLimit: 2}
	now := time.Now().UTC()
	got, err := stripe.Refunds(context.Background(), Window{From: now.Add(-time.Minute), To: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var txns []string
	for _, r := range got {
		txns = append(txns, r.TransactionID)
		if !r.Moved() || r.Currency != "USD" || !strings.HasPrefix(r.Reference, "re_") {
			t.Errorf("refund %+v", r)
		}
	}
	slices.Sort(txns)
	if !slices.Equal(txns, planted) {
		t.Errorf("listed %v, want %v", txns, planted)
	}
	past, err := stripe.Refunds(context.Background(), Window{From: now.Add(-2 * time.Hour), To: now.Add(-time.Hour)})
	if err != nil || len(past) != 0 {
		t.Errorf("an earlier window: %v %+v", err, past)
	}
	one, err := stripe.RefundsOf(context.Background(), got[0].TransactionID, got[0].Reference)
	if err != nil || len(one) != 1 || one[0] != got[0] {
		t.Errorf("by reference: %v %+v, want %+v", err, one, got[0])
	}
}

// stripe-mock checks each request against Stripe's published spec: the
// list by created window and the read are requests Stripe accepts.
func TestStripeRequestsAcceptedByStripeMock(t *testing.T) {
	t.Parallel()
	stripe := &Stripe{BaseURL: testenv.StartStripeMock(t), APIKey: "sk_test_123"}
	got, err := stripe.Refunds(context.Background(), Window{From: time.Unix(0, 0), To: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].Reference == "" {
		t.Fatalf("stripe-mock's list: %+v", got)
	}
	one, err := stripe.RefundsOf(context.Background(), "pi_123", got[0].Reference)
	if err != nil || len(one) != 1 || one[0].Reference == "" {
		t.Errorf("read: %v %+v", err, one)
	}
	if _, err := stripe.RefundsOf(context.Background(), "pi_123", ""); err != nil {
		t.Errorf("list by payment: %v", err)
	}
}

// A key the sabotaged sandbox refunded twice is two refunds: the double
// shows as twice the amount.
func TestSandboxLedgerCountsEveryCreation(t *testing.T) {
	t.Parallel()
	created := time.Now().UTC()
	view := sandbox.LedgerView{Ledger: sandbox.NewLedger()}
	view.Refunds["T1:refund"] = &sandbox.Submission{IdempotencyKey: "T1:refund", Kind: "refund", TransactionID: "T1", AmountMinor: 500, Currency: "USD",
		Creations: 2, Reference: "rf_1", CreatedAt: &created}
	view.Refunds["T2:refund"] = &sandbox.Submission{IdempotencyKey: "T2:refund", Kind: "refund", TransactionID: "T2", AmountMinor: 500, Currency: "USD"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(view) }))
	t.Cleanup(srv.Close)
	got, err := (&SandboxLedger{BaseURL: srv.URL}).Refunds(context.Background(), Window{From: created.Add(-time.Minute), To: created.Add(time.Minute)})
	if err != nil || len(got) != 2 || got[0].Reference == got[1].Reference || !got[0].Moved() {
		t.Fatalf("%v %+v", err, got)
	}
	m, ok := compareOne(rec("T1", "Completed", 500, created), true, got)
	if !ok || m.Kind != AmountDiffers || m.Theirs != "1000 USD" {
		t.Errorf("%+v", m)
	}
}
