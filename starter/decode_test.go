package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/pci"
	"github.com/refundflow/refundflow/internal/remediation"
)

func TestDecodeDisposition(t *testing.T) {
	t.Parallel()
	req, bad := decodeDisposition([]byte(`{
		"transactionId": "pi_3Abc.def:9-x_y",
		"dispositionCode": " Refund_Processed ",
		"customerTokenId": "tok_visa_1234",
		"customerId": null,
		"refundAmount": 49.990,
		"currency": " eur ",
		"conversationId": "c", "participantId": "p", "communicationId": "m", "agentId": "a", "queueId": "q",
		"timestamp": "2024-05-27T10:55:00.123+02:00",
		"somethingGenesysAddedLater": {"nested": [1, true, null]}
	}`))
	if bad != nil {
		t.Fatal(bad)
	}
	want := dispositionRequest{
		TransactionID: "pi_3Abc.def:9-x_y", DispositionCode: "Refund_Processed", CustomerTokenID: "tok_visa_1234",
		RefundAmount: "49.990", Currency: " eur ", ConversationID: "c", ParticipantID: "p", CommunicationID: "m",
		AgentID: "a", QueueID: "q", Timestamp: "2024-05-27T10:55:00.123+02:00",
	}
	if req != want {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
	d := disposition(req, remediation.ActionRefund, "USD", time.Now())
	if d.Currency != "EUR" || d.AmountMinor != 4999 || d.AmountError != "" || d.AmountText != "49.990" || d.Timestamp != want.Timestamp {
		t.Fatalf("disposition %+v", d)
	}
}

func TestDispositionAmountAndDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 27, 10, 55, 0, 0, time.FixedZone("CEST", 2*3600))
	cases := []struct {
		amount, currency string
		minor            int64
		reason           money.Reason
	}{
		{"49.99", "", 4999, ""},
		{"500", "jpy", 500, ""},
		{"1.234", "KWD", 1234, ""},
		{"", "", 0, money.ReasonMissing},
		{"0", "", 0, money.ReasonZero},
		{"-1.00", "", 0, money.ReasonNegative},
		{"1e3", "", 0, money.ReasonMalformed},
		{"49.999", "", 0, money.ReasonTooManyDecimals},
		{"10", "ABC", 0, money.ReasonUnknownCurrency},
	}
	for _, c := range cases {
		d := disposition(dispositionRequest{TransactionID: "t", DispositionCode: "x", RefundAmount: money.Text(c.amount), Currency: c.currency},
			remediation.ActionRefund, "USD", now)
		if d.Timestamp != "2024-05-27T08:55:00Z" {
			t.Errorf("timestamp %q", d.Timestamp)
		}
		if c.reason == "" {
			if d.AmountError != "" || d.AmountMinor != c.minor {
				t.Errorf("%q %s: %+v", c.amount, c.currency, d)
			}
			continue
		}
		if !strings.Contains(d.AmountError, string(c.reason)) || d.AmountMinor != 0 || !d.NeedsReviewFromStart() {
			t.Errorf("%q %s: want reason %s, got %+v", c.amount, c.currency, c.reason, d)
		}
	}
	long := disposition(dispositionRequest{RefundAmount: money.Text(strings.Repeat("9", 500))}, remediation.ActionRefund, "USD", now)
	if n := len([]rune(long.AmountText)); n != maxAmountTextChars {
		t.Errorf("AmountText kept %d runes", n)
	}
}

func TestStaticMetadataFitsAndHidesCustomer(t *testing.T) {
	t.Parallel()
	d := disposition(dispositionRequest{
		TransactionID: strings.Repeat("t", 128), DispositionCode: strings.Repeat("C", 256),
		CustomerTokenID: "tok_secret", CustomerID: "cus_secret", RefundAmount: money.Text(strings.Repeat("x`\n", 100)),
		ConversationID: "conv`with\nbreaks",
	}, remediation.ActionRefund, "USD", time.Now())
	summary, details := staticSummary(d), staticDetails(d)
	if len(summary) > maxSummaryBytes {
		t.Errorf("summary is %d bytes", len(summary))
	}
	for _, s := range []string{summary, details} {
		if strings.Contains(s, "secret") {
			t.Errorf("customer identifiers in %q", s)
		}
	}
	if strings.Count(details, "`")%2 != 0 || strings.Contains(details, "conv`") {
		t.Errorf("caller text breaks the markdown: %q", details)
	}
}

var knownFields = []string{"transactionId", "dispositionCode", "customerTokenId", "customerId", "refundAmount", "currency",
	"conversationId", "participantId", "communicationId", "agentId", "queueId", "timestamp"}

// FuzzDecodeDisposition feeds the decoder anything. It must never panic;
// what it accepts must satisfy the contract's rules; what it refuses must
// name only contract fields; and a body that passed the cardholder-data
// screen must not yield a card number in any field.
func FuzzDecodeDisposition(f *testing.F) {
	for _, s := range []string{
		`{"transactionId":"t1","dispositionCode":"Refund_Processed","refundAmount":"49.99","currency":"USD"}`,
		`{"transactionId":"t1","dispositionCode":"Refund_Processed","refundAmount":49.99,"timestamp":"2024-05-27T10:55:00Z"}`,
		`{"transactionId":"t1","dispositionCode":"Issue_Resolved","extra":{"a":[1,2,3]}}`,
		`{"transactionId":5,"dispositionCode":true,"refundAmount":{}}`,
		`{"transactionId":"a b","dispositionCode":"x","timestamp":"now"}`,
		`{"transactionId":"t","transactionId":"u","dispositionCode":"x"}`,
		`{"transactionId":"\u0074","dispositionCode":"\u00e9"}`,
		`[]`, `null`, `{`, `"x"`, `{"refundAmount":-0.0e-0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, bad := decodeDisposition(body)
		if bad != nil {
			if len(bad.problems) == 0 {
				t.Fatalf("error without a problem for %q", body)
			}
			for _, field := range bad.fields {
				if !slices.Contains(knownFields, field) {
					t.Fatalf("error names unknown field %q", field)
				}
			}
			return
		}
		if !remediation.ValidTransactionID(req.TransactionID) {
			t.Fatalf("accepted transactionId %q", req.TransactionID)
		}
		if req.DispositionCode == "" || strings.TrimSpace(req.DispositionCode) != req.DispositionCode {
			t.Fatalf("accepted dispositionCode %q", req.DispositionCode)
		}
		if req.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, req.Timestamp); err != nil {
				t.Fatalf("accepted timestamp %q", req.Timestamp)
			}
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		d := disposition(req, remediation.ActionRefund, "USD", time.Now())
		if d.AmountError == "" && d.AmountMinor <= 0 {
			t.Fatalf("amount %d accepted without an error", d.AmountMinor)
		}
		if d.AmountError != "" && d.AmountMinor != 0 {
			t.Fatalf("amount %d kept despite %q", d.AmountMinor, d.AmountError)
		}
		if _, err := time.Parse(time.RFC3339, d.Timestamp); err != nil {
			t.Fatalf("disposition timestamp %q", d.Timestamp)
		}
		if !pci.ContainsCardholderData(body) {
			for _, v := range []string{req.TransactionID, req.DispositionCode, req.CustomerTokenID, req.CustomerID, string(req.RefundAmount),
				req.Currency, req.ConversationID, req.ParticipantID, req.CommunicationID, req.AgentID, req.QueueID, req.Timestamp} {
				if pci.ContainsCardNumber(v) {
					t.Fatalf("screened body %q yielded card number in %q", body, v)
				}
			}
		}
	})
}

var benchBody = []byte(`{"transactionId":"txn-2024-000123","dispositionCode":"Refund_Processed","customerTokenId":"tok_visa_1234","customerId":"cus_987654","refundAmount":"49.99","currency":"USD","conversationId":"8a6e3c0e-3f4b-4b8e-9a52-6a1f2f7e9d11","participantId":"0d4b7c2a-9e1f-4d55-8a33-2c6f0b1e7a90","communicationId":"f1e2d3c4-b5a6-4789-8abc-def012345678","agentId":"5b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","queueId":"c0ffee00-1234-4567-89ab-cdef01234567","timestamp":"2024-05-27T10:55:00Z"}`)

func BenchmarkDecodeDisposition(b *testing.B) {
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, bad := decodeDisposition(benchBody); bad != nil {
			b.Fatal(bad)
		}
	}
}

// BenchmarkScreenAndDecode is the webhook's CPU cost per request before
// Temporal: the cardholder-data screen, the decoder, the disposition.
func BenchmarkScreenAndDecode(b *testing.B) {
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		if pci.ContainsCardholderData(benchBody) {
			b.Fatal("flagged")
		}
		req, bad := decodeDisposition(benchBody)
		if bad != nil {
			b.Fatal(bad)
		}
		_ = disposition(req, remediation.ActionRefund, "USD", now)
	}
}
