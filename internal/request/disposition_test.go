package request

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
	req, bad := DecodeDisposition([]byte(`{
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
	want := Disposition{
		TransactionID: "pi_3Abc.def:9-x_y", DispositionCode: "Refund_Processed", CustomerTokenID: "tok_visa_1234",
		RefundAmount: "49.990", Currency: " eur ", ConversationID: "c", ParticipantID: "p", CommunicationID: "m",
		AgentID: "a", QueueID: "q", Timestamp: "2024-05-27T10:55:00.123+02:00",
	}
	if req != want {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
	d := req.WorkflowInput(remediation.ActionRefund, "USD", time.Now())
	if d.Currency != "EUR" || d.AmountMinor != 4999 || d.AmountError != "" || d.AmountText != "49.990" || d.Timestamp != want.Timestamp {
		t.Fatalf("disposition %+v", d)
	}
}

// TestDecodeDispositionRefuses pins the 400 answers word for word: they are
// what a Genesys admin reads in the Data Action's test panel.
func TestDecodeDispositionRefuses(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxFieldChars+1)
	cases := []struct {
		body, problems string
		fields         []string
	}{
		{`{"transactionId":`, "malformed JSON at byte 17", nil},
		{`{"transactionId" "t"}`, "malformed JSON at byte 18", nil},
		{`[]`, "body must be a JSON object", nil},
		{`null`, "body must be a JSON object", nil},
		{`{}`, "transactionId is required; dispositionCode is required", []string{"transactionId", "dispositionCode"}},
		{`{"transactionId":5,"dispositionCode":" "}`, "transactionId must be a string; dispositionCode is required",
			[]string{"transactionId", "dispositionCode"}},
		{`{"transactionId":"a b","dispositionCode":"x","refundAmount":{}}`,
			"refundAmount must be a string or a number; transactionId must be 1-128 characters of A-Z a-z 0-9 . _ : -",
			[]string{"refundAmount", "transactionId"}},
		{`{"transactionId":"t","dispositionCode":"x","timestamp":"2024-05-27 10:55"}`,
			"timestamp must be RFC 3339, e.g. 2024-05-27T10:55:00Z", []string{"timestamp"}},
		{`{"transactionId":"t","dispositionCode":"x","agentId":"` + long + `"}`,
			"agentId is longer than 256 characters", []string{"agentId"}},
	}
	for _, c := range cases {
		_, bad := DecodeDisposition([]byte(c.body))
		if bad == nil {
			t.Errorf("%s: accepted", c.body)
			continue
		}
		if bad.Error() != c.problems || !slices.Equal(bad.Fields, c.fields) {
			t.Errorf("%s:\ngot  %q %q\nwant %q %q", c.body, bad.Error(), bad.Fields, c.problems, c.fields)
		}
	}
}

// TestDispositionFieldsAreDecoded ties DispositionFields to the decoder: each
// listed member is read (a wrong type is refused, naming it), and a member
// outside the list is not.
func TestDispositionFieldsAreDecoded(t *testing.T) {
	t.Parallel()
	for _, f := range DispositionFields() {
		body := map[string]any{"transactionId": "t", "dispositionCode": "x"}
		body[f] = map[string]any{}
		raw, _ := json.Marshal(body)
		_, bad := DecodeDisposition(raw)
		if bad == nil || !slices.Equal(bad.Fields, []string{f}) {
			t.Errorf("%s: %v", raw, bad)
		}
	}
	if _, bad := DecodeDisposition([]byte(`{"transactionId":"t","dispositionCode":"x","notInTheContract":{}}`)); bad != nil {
		t.Errorf("unknown member refused: %v", bad)
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
		d := Disposition{TransactionID: "t", DispositionCode: "x", RefundAmount: money.Text(c.amount), Currency: c.currency}.
			WorkflowInput(remediation.ActionRefund, "USD", now)
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
	long := Disposition{RefundAmount: money.Text(strings.Repeat("9", 500))}.WorkflowInput(remediation.ActionRefund, "USD", now)
	if n := len([]rune(long.AmountText)); n != maxAmountTextChars {
		t.Errorf("AmountText kept %d runes", n)
	}
}

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
		req, bad := DecodeDisposition(body)
		if bad != nil {
			if len(bad.Problems) == 0 {
				t.Fatalf("error without a problem for %q", body)
			}
			for _, field := range bad.Fields {
				if !slices.Contains(dispositionFields, field) {
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
		d := req.WorkflowInput(remediation.ActionRefund, "USD", time.Now())
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

// benchBody is a Genesys body with every field set, as the Data Action sends it.
var benchBody = []byte(`{"transactionId":"txn-2024-000123","dispositionCode":"Refund_Processed","customerTokenId":"tok_visa_1234","customerId":"cus_987654","refundAmount":"49.99","currency":"USD","conversationId":"8a6e3c0e-3f4b-4b8e-9a52-6a1f2f7e9d11","participantId":"0d4b7c2a-9e1f-4d55-8a33-2c6f0b1e7a90","communicationId":"f1e2d3c4-b5a6-4789-8abc-def012345678","agentId":"5b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","queueId":"c0ffee00-1234-4567-89ab-cdef01234567","timestamp":"2024-05-27T10:55:00Z"}`)

func BenchmarkDecodeDisposition(b *testing.B) {
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, bad := DecodeDisposition(benchBody); bad != nil {
			b.Fatal(bad)
		}
	}
}

// BenchmarkScreenAndDecode is the webhook's CPU cost per request before
// Temporal: the cardholder-data screen, the decoder, the workflow input.
func BenchmarkScreenAndDecode(b *testing.B) {
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		if pci.ContainsCardholderData(benchBody) {
			b.Fatal("flagged")
		}
		req, bad := DecodeDisposition(benchBody)
		if bad != nil {
			b.Fatal(bad)
		}
		_ = req.WorkflowInput(remediation.ActionRefund, "USD", now)
	}
}
